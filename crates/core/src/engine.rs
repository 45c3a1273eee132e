//! The connection to the Docker engine, found the way the docker CLI finds
//! it: `DOCKER_HOST` (with `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`), else
//! `DOCKER_CONTEXT` or the current context in the docker config, else the
//! local socket. The API version is negotiated with the engine.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::Docker;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{ErrorCode, Problem};

mod ssh;

/// A client for an engine over SSH: each connection is the user's `ssh`
/// running `docker system dial-stdio` on the host.
fn ssh_docker(
    url: &str,
    version: &bollard::ClientVersion,
) -> Result<Docker, bollard::errors::Error> {
    let target = ssh::Target::parse(url).ok_or_else(|| bollard::errors::Error::IOError {
        err: std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{url:?} is not ssh://[user@]host[:port]"),
        ),
    })?;
    let client = std::sync::Arc::new(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(ssh::Connector { target }),
    );
    Docker::connect_with_custom_transport(
        move |request: bollard::BollardRequest| {
            let client = client.clone();
            Box::pin(async move {
                client
                    .request(request)
                    .await
                    .map_err(bollard::errors::Error::from)
            })
        },
        Some("http://docker"),
        REQUEST_TIMEOUT_SECS,
        version,
    )
}

/// What `--version` and About say of the engine.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineVersion {
    /// Where it is.
    pub endpoint: String,
    /// The engine's own version (`20.10.24`).
    pub engine: String,
    /// The API version Slipway talks to it in (`1.41`).
    pub api: String,
}

/// The engine's version and the API version in use, or why the engine
/// did not answer within `within`.
pub async fn version(within: Duration) -> Result<EngineVersion, EngineError> {
    let endpoint = Endpoint::from_env()?;
    let host = endpoint.to_string();
    let ask = async {
        let engine = Engine::connect_to(endpoint).await?;
        let docker = engine.docker();
        let version = docker.version().await.map_err(|e| engine.error(e))?;
        Ok(EngineVersion {
            endpoint: host.clone(),
            engine: version.version.unwrap_or_else(|| "?".into()),
            api: docker.client_version().to_string(),
        })
    };
    match tokio::time::timeout(within, ask).await {
        Ok(answer) => answer,
        Err(_) => Err(EngineError::Unreachable {
            endpoint: host,
            reason: format!("no answer within {} s", within.as_secs()),
        }),
    }
}

/// The local socket used when nothing else is configured.
pub const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";

/// Seconds bollard waits for one API request before giving up. Builds and
/// log streams can be long, so this is generous; connection problems are
/// caught by [`PING_TIMEOUT`].
const REQUEST_TIMEOUT_SECS: u64 = 3600;
/// How long connecting may take before the engine counts as unreachable.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the engine could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The endpoint settings are malformed (bad `DOCKER_HOST`, missing context).
    #[error("{message}")]
    Endpoint {
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// Nothing answered at the endpoint.
    #[error("cannot reach the Docker engine at {endpoint} ({reason})")]
    Unreachable {
        /// Where we tried.
        endpoint: String,
        /// The root cause, in a few words.
        reason: String,
    },
    /// The engine answered with an error.
    #[error("the Docker engine refused the request: {message} (HTTP {status})")]
    Api {
        /// HTTP status code.
        status: u16,
        /// The engine's message.
        message: String,
    },
    /// Anything else the client reported.
    #[error("Docker engine error: {0}")]
    Client(String),
}

impl EngineError {
    /// Converts a client error, keeping only the sentence a user needs.
    pub fn from_bollard(endpoint: &str, error: bollard::errors::Error) -> Self {
        use bollard::errors::Error as B;
        match error {
            B::DockerResponseServerError {
                status_code,
                message,
            } => EngineError::Api {
                status: status_code,
                message: message.trim().to_string(),
            },
            B::SocketNotFoundError(path) => EngineError::Unreachable {
                endpoint: endpoint.to_string(),
                reason: format!("no socket at {path}"),
            },
            B::RequestTimeoutError => EngineError::Unreachable {
                endpoint: endpoint.to_string(),
                reason: "timed out".into(),
            },
            B::HyperLegacyError { .. } | B::IOError { .. } | B::HyperResponseError { .. } => {
                EngineError::Unreachable {
                    endpoint: endpoint.to_string(),
                    reason: crate::error::root_cause(&error),
                }
            }
            other => EngineError::Client(crate::error::root_cause(&other)),
        }
    }

    /// The error as a user-facing problem.
    pub fn problem(&self) -> Problem {
        match self {
            EngineError::Endpoint { hint, .. } => {
                Problem::new(ErrorCode::DockerUnavailable, self.to_string()).with_hint(hint.clone())
            }
            EngineError::Unreachable { .. } => Problem::new(
                ErrorCode::DockerUnavailable,
                self.to_string(),
            )
            .with_hint(
                "Start Docker (for example `sudo systemctl start docker`, or `sudo dockerd &`), \
                 or point DOCKER_HOST or `docker context use` at a running engine.",
            ),
            EngineError::Api { .. } | EngineError::Client(_) => {
                Problem::new(ErrorCode::DockerError, self.to_string())
            }
        }
    }
}

impl From<EngineError> for Problem {
    fn from(e: EngineError) -> Self {
        e.problem()
    }
}

/// Where the engine is and how to talk to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// `unix:///path`, `tcp://host:port` or `http://host:port`.
    pub host: String,
    /// Client certificates for TLS, when the endpoint uses it.
    pub tls: Option<TlsFiles>,
    /// What chose this endpoint.
    pub origin: EndpointOrigin,
}

/// PEM files for a TLS connection to the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsFiles {
    /// CA certificate that signed the engine's certificate.
    pub ca: PathBuf,
    /// Client certificate.
    pub cert: PathBuf,
    /// Client key.
    pub key: PathBuf,
}

impl TlsFiles {
    fn in_dir(dir: &Path) -> Self {
        TlsFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }
}

/// What chose an [`Endpoint`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum EndpointOrigin {
    /// Nothing configured: the local socket.
    Default,
    /// The `DOCKER_HOST` environment variable.
    DockerHost,
    /// A docker CLI context.
    Context(String),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.host)?;
        if self.tls.is_some() {
            write!(f, " (TLS)")?;
        }
        match &self.origin {
            EndpointOrigin::Default => Ok(()),
            EndpointOrigin::DockerHost => write!(f, " from DOCKER_HOST"),
            EndpointOrigin::Context(name) => write!(f, " from docker context {name:?}"),
        }
    }
}

impl Endpoint {
    /// Finds the endpoint from the process environment and the docker config.
    pub fn from_env() -> Result<Self, EngineError> {
        Self::resolve(&|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Finds the endpoint with `env` as the environment, in the docker CLI's
    /// order: `DOCKER_HOST`, then `DOCKER_CONTEXT`, then the config's
    /// `currentContext`, then the local socket.
    pub fn resolve(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, EngineError> {
        if let Some(host) = env("DOCKER_HOST") {
            let tls = if env("DOCKER_TLS_VERIFY").is_some_and(|v| v != "0") {
                let dir = match env("DOCKER_CERT_PATH") {
                    Some(dir) => PathBuf::from(dir),
                    None => docker_config_dir(env),
                };
                Some(TlsFiles::in_dir(&dir))
            } else {
                None
            };
            return Endpoint::checked(host, tls, EndpointOrigin::DockerHost);
        }
        let config_dir = docker_config_dir(env);
        let context = match env("DOCKER_CONTEXT") {
            Some(name) => Some(name),
            None => read_current_context(&config_dir)?,
        };
        match context {
            Some(name) if name != "default" => Endpoint::from_context(&config_dir, &name),
            _ => Ok(Endpoint {
                host: DEFAULT_SOCKET.into(),
                tls: None,
                origin: EndpointOrigin::Default,
            }),
        }
    }

    fn checked(
        host: String,
        tls: Option<TlsFiles>,
        origin: EndpointOrigin,
    ) -> Result<Self, EngineError> {
        let scheme = host.split_once("://").map(|(s, _)| s).unwrap_or("");
        let bad = |why: &str| {
            EngineError::Endpoint {
            message: format!("cannot use Docker host {host:?}: {why}"),
            hint: "Use unix:///var/run/docker.sock or tcp://HOST:PORT (set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH for TLS).".into(),
        }
        };
        match scheme {
            "unix" => {}
            "tcp" | "http" | "https" => {
                let rest = &host[scheme.len() + 3..];
                if rest.is_empty() || rest.starts_with(':') {
                    return Err(bad("it has no host name"));
                }
            }
            "ssh" => {
                let rest = &host[scheme.len() + 3..];
                let name = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
                if name.is_empty() || name.starts_with(':') {
                    return Err(bad("it has no host name"));
                }
            }
            "" => return Err(bad("it has no scheme")),
            other => return Err(bad(&format!("unknown scheme {other:?}"))),
        }
        if let Some(files) = &tls {
            for file in [&files.ca, &files.cert, &files.key] {
                if !file.is_file() {
                    return Err(EngineError::Endpoint {
                        message: format!("TLS is on for {host} but {} is missing", file.display()),
                        hint: "Set DOCKER_CERT_PATH to the folder with ca.pem, cert.pem and key.pem, or unset DOCKER_TLS_VERIFY.".into(),
                    });
                }
            }
        }
        Ok(Endpoint { host, tls, origin })
    }

    fn from_context(config_dir: &Path, name: &str) -> Result<Self, EngineError> {
        let id = hex(&Sha256::digest(name.as_bytes()));
        let meta_path = config_dir
            .join("contexts")
            .join("meta")
            .join(&id)
            .join("meta.json");
        let missing = || {
            EngineError::Endpoint {
            message: format!("docker context {name:?} does not exist (no {})", meta_path.display()),
            hint: "Run `docker context ls` to see the contexts, and `docker context use NAME` to pick one.".into(),
        }
        };
        let text = std::fs::read_to_string(&meta_path).map_err(|_| missing())?;
        let meta: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| EngineError::Endpoint {
                message: format!(
                    "cannot read docker context {name:?} at {}: {e}",
                    meta_path.display()
                ),
                hint: "Recreate it with `docker context create`.".into(),
            })?;
        let host = meta
            .pointer("/Endpoints/docker/Host")
            .and_then(|h| h.as_str())
            .ok_or_else(|| EngineError::Endpoint {
                message: format!("docker context {name:?} has no Docker endpoint"),
                hint: "Recreate it with `docker context create NAME --docker host=...`.".into(),
            })?
            .to_string();
        let tls_dir = config_dir
            .join("contexts")
            .join("tls")
            .join(&id)
            .join("docker");
        let tls = tls_dir
            .join("ca.pem")
            .is_file()
            .then(|| TlsFiles::in_dir(&tls_dir));
        Endpoint::checked(host, tls, EndpointOrigin::Context(name.to_string()))
    }
}

fn docker_config_dir(env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    match env("DOCKER_CONFIG") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env("HOME").unwrap_or_default()).join(".docker"),
    }
}

fn read_current_context(config_dir: &Path) -> Result<Option<String>, EngineError> {
    let path = config_dir.join("config.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(_) => return Ok(None),
    };
    let config: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| EngineError::Endpoint {
            message: format!("cannot read the docker config {}: {e}", path.display()),
            hint: "Fix or remove the file; it is the docker CLI's configuration.".into(),
        })?;
    Ok(config
        .get("currentContext")
        .and_then(|c| c.as_str())
        .filter(|c| !c.is_empty())
        .map(str::to_string))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A connected engine: the client plus where it points.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    endpoint: Endpoint,
}

impl Engine {
    /// Connects to the engine the environment points at.
    pub async fn connect() -> Result<Self, EngineError> {
        Self::connect_to(Endpoint::from_env()?).await
    }

    /// Connects to `endpoint`, checks it answers and negotiates the API version.
    pub async fn connect_to(endpoint: Endpoint) -> Result<Self, EngineError> {
        let host = endpoint.host.clone();
        let version = bollard::API_DEFAULT_VERSION;
        let docker = match (&endpoint.tls, host.split_once("://").map(|(s, _)| s)) {
            (_, Some("unix")) => Docker::connect_with_unix(&host, REQUEST_TIMEOUT_SECS, version),
            (_, Some("ssh")) => ssh_docker(&host, version),
            (Some(tls), _) => Docker::connect_with_ssl(&host, &tls.key, &tls.cert, &tls.ca, REQUEST_TIMEOUT_SECS, version),
            (None, _) => Docker::connect_with_http(&host, REQUEST_TIMEOUT_SECS, version),
        }
        .map_err(|e| match e {
            bollard::errors::Error::CertPathError { path } | bollard::errors::Error::CertParseError { path } => {
                EngineError::Endpoint {
                    message: format!("cannot use the TLS file {}", path.display()),
                    hint: "Check DOCKER_CERT_PATH (or the context's TLS files): ca.pem, cert.pem and key.pem in PEM format.".into(),
                }
            }
            other => EngineError::from_bollard(&host, other),
        })?;
        let docker = match tokio::time::timeout(PING_TIMEOUT, docker.negotiate_version()).await {
            Ok(Ok(docker)) => docker,
            Ok(Err(e)) => {
                // Over SSH, the login is the likely problem: ssh says best what it is.
                if let Some(target) = ssh::Target::parse(&host)
                    && let Some(reason) = target.login_problem().await
                {
                    return Err(EngineError::Unreachable {
                        endpoint: host,
                        reason,
                    });
                }
                return Err(EngineError::from_bollard(&host, e));
            }
            Err(_) => {
                return Err(EngineError::Unreachable {
                    endpoint: host,
                    reason: "no answer within 10 s".into(),
                });
            }
        };
        Ok(Engine { docker, endpoint })
    }

    /// The client, for the modules that drive the engine.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Where the engine is.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The host name published ports are reached at: `127.0.0.1` for a
    /// local engine, the remote host's name for a TCP one.
    pub fn published_host(&self, host_ip: &str) -> String {
        let remote = self
            .endpoint
            .host
            .split_once("://")
            .filter(|(scheme, _)| *scheme != "unix")
            .and_then(|(_, rest)| {
                let rest = rest.trim_end_matches('/');
                let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
                rest.rsplit_once(':')
                    .map(|(h, _)| h.to_string())
                    .or(Some(rest.to_string()))
            });
        match remote {
            Some(h) if h != "localhost" && h != "127.0.0.1" => h,
            _ if host_ip == "0.0.0.0" || host_ip.is_empty() => "127.0.0.1".into(),
            _ => host_ip.to_string(),
        }
    }

    /// Converts a client error from a call on this engine.
    pub fn error(&self, error: bollard::errors::Error) -> EngineError {
        EngineError::from_bollard(&self.endpoint.host, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn default_is_the_local_socket() {
        let dir = tempfile::tempdir().unwrap();
        let e = Endpoint::resolve(&env_of(&[("HOME", dir.path().display().to_string())])).unwrap();
        assert_eq!(e.host, DEFAULT_SOCKET);
        assert_eq!(e.origin, EndpointOrigin::Default);
    }

    #[test]
    fn docker_host_with_tls() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        let e = Endpoint::resolve(&env_of(&[
            ("DOCKER_HOST", "tcp://127.0.0.1:2376".into()),
            ("DOCKER_TLS_VERIFY", "1".into()),
            ("DOCKER_CERT_PATH", dir.path().display().to_string()),
        ]))
        .unwrap();
        assert_eq!(e.tls.unwrap().ca, dir.path().join("ca.pem"));
    }

    #[test]
    fn missing_tls_files_are_named() {
        let err = Endpoint::resolve(&env_of(&[
            ("DOCKER_HOST", "tcp://127.0.0.1:2376".into()),
            ("DOCKER_TLS_VERIFY", "1".into()),
            ("DOCKER_CERT_PATH", "/nonexistent".into()),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn bad_docker_host_is_explained() {
        let err =
            Endpoint::resolve(&env_of(&[("DOCKER_HOST", "localhost:2375".into())])).unwrap_err();
        assert!(err.to_string().contains("no scheme"), "{err}");
    }

    #[test]
    fn current_context_from_config() {
        let dir = tempfile::tempdir().unwrap();
        let id = hex(&Sha256::digest(b"remote"));
        let meta = dir.path().join("contexts/meta").join(&id);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"remote","Endpoints":{"docker":{"Host":"tcp://10.0.0.5:2375"}}}"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"currentContext":"remote"}"#,
        )
        .unwrap();
        let e = Endpoint::resolve(&env_of(&[(
            "DOCKER_CONFIG",
            dir.path().display().to_string(),
        )]))
        .unwrap();
        assert_eq!(e.host, "tcp://10.0.0.5:2375");
        assert_eq!(e.origin, EndpointOrigin::Context("remote".into()));
        let err = Endpoint::resolve(&env_of(&[
            ("DOCKER_CONFIG", dir.path().display().to_string()),
            ("DOCKER_CONTEXT", "nope".into()),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("\"nope\" does not exist"), "{err}");
    }

    #[tokio::test]
    async fn unreachable_engine_is_one_sentence() {
        let endpoint = Endpoint {
            host: "tcp://127.0.0.1:1".into(),
            tls: None,
            origin: EndpointOrigin::DockerHost,
        };
        let err = Engine::connect_to(endpoint).await.unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("cannot reach the Docker engine at tcp://127.0.0.1:1"),
            "{text}"
        );
        assert!(!text.contains('\n'));
        assert!(err.problem().hint.is_some());
    }
}
