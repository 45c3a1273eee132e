//! The docker CLI's registry logins, read-only: `config.json` (`auths`,
//! `credsStore`, `credHelpers`) and its `docker-credential-*` helpers, with
//! the CLI's precedence (a host's helper, then the store, then `auths`).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;

use super::registry::normalize_host;
use super::{Account, AccountKind, AccountSource, SecretState};
use crate::secrets::Secret;

/// How long a credential helper may take (it may be waiting on a prompt).
const HELPER_TIMEOUT: Duration = Duration::from_secs(10);

/// A registry user name and password, and where they came from.
#[derive(Debug, Clone)]
pub struct RegistryCredentials {
    pub username: String,
    pub password: Secret,
    pub source: AccountSource,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default)]
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

impl std::fmt::Debug for AuthEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthEntry(***)")
    }
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    directories::BaseDirs::new().map(|d| d.home_dir().join(".docker").join("config.json"))
}

fn load() -> ConfigFile {
    let Some(path) = path() else {
        return ConfigFile::default();
    };
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(
                "ignoring {}: line {}, column {}: {e}",
                path.display(),
                e.line(),
                e.column()
            );
            ConfigFile::default()
        }),
        Err(_) => ConfigFile::default(),
    }
}

/// Splits a config.json `auth` (base64 of `user:password`).
fn decode_auth(auth: &str) -> Option<(String, Secret)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .ok()?;
    let text = Secret::new(String::from_utf8(bytes).ok()?);
    let (user, password) = text.expose().split_once(':')?;
    Some((user.to_string(), Secret::new(password)))
}

/// Runs `docker-credential-<helper> <verb>` with `input` on stdin; its
/// stdout, or `None` when it is missing, fails or hangs.
fn run_helper(helper: &str, verb: &str, input: &str) -> Option<Vec<u8>> {
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg(verb)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| tracing::debug!("{program}: {e}"))
        .ok()?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let deadline = Instant::now() + HELPER_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                tracing::warn!("{program} {verb} did not answer within {HELPER_TIMEOUT:?}");
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    };
    let out = reader.join().ok()?;
    status.success().then_some(out)
}

/// `docker-credential-<helper> get` for a server.
fn helper_get(helper: &str, server: &str) -> Option<(String, Secret)> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(rename = "Username")]
        username: String,
        #[serde(rename = "Secret")]
        secret: String,
    }
    let out = run_helper(helper, "get", server)?;
    let answer: Answer = serde_json::from_slice(&out).ok()?;
    Some((answer.username, Secret::new(answer.secret)))
}

/// The keys a host may be filed under in config.json.
fn keys_for(host: &str) -> Vec<String> {
    if host == super::registry::DOCKER_HUB {
        vec![
            "https://index.docker.io/v1/".into(),
            "index.docker.io".into(),
            "docker.io".into(),
        ]
    } else {
        vec![
            host.to_string(),
            format!("https://{host}"),
            format!("http://{host}"),
        ]
    }
}

/// The docker CLI's credentials for a (normalized) registry host.
pub fn credentials(host: &str) -> Option<RegistryCredentials> {
    let config = load();
    let matches = |key: &String| normalize_host(key).ok().as_deref() == Some(host);
    if let Some((key, helper)) = config.cred_helpers.iter().find(|(k, _)| matches(k)) {
        let (username, password) = helper_get(helper, key)?;
        return Some(RegistryCredentials {
            username,
            password,
            source: AccountSource::DockerHelper {
                helper: helper.clone(),
            },
        });
    }
    if let Some(store) = &config.creds_store {
        for key in keys_for(host) {
            if let Some((username, password)) = helper_get(store, &key) {
                return Some(RegistryCredentials {
                    username,
                    password,
                    source: AccountSource::DockerHelper {
                        helper: store.clone(),
                    },
                });
            }
        }
    }
    let (_, entry) = config.auths.iter().find(|(k, _)| matches(k))?;
    let (username, password) = decode_auth(entry.auth.as_deref()?)?;
    let password = entry
        .identitytoken
        .as_deref()
        .map(Secret::new)
        .unwrap_or(password);
    Some(RegistryCredentials {
        username,
        password,
        source: AccountSource::DockerConfig,
    })
}

/// Who the docker CLI is signed in as, per registry. Never a secret.
pub fn accounts() -> Vec<Account> {
    let config = load();
    let mut found: Vec<(String, String, AccountSource)> = Vec::new();
    let mut add = |host: &str, user: String, source: AccountSource| {
        if let Ok(host) = normalize_host(host)
            && !found.iter().any(|(h, _, _)| *h == host)
        {
            found.push((host, user, source));
        }
    };
    for (key, helper) in &config.cred_helpers {
        if let Some((user, _secret)) = helper_get(helper, key) {
            add(
                key,
                user,
                AccountSource::DockerHelper {
                    helper: helper.clone(),
                },
            );
        }
    }
    if let Some(store) = &config.creds_store
        && let Some(out) = run_helper(store, "list", "")
        && let Ok(list) = serde_json::from_slice::<BTreeMap<String, String>>(&out)
    {
        for (server, user) in list {
            add(
                &server,
                user,
                AccountSource::DockerHelper {
                    helper: store.clone(),
                },
            );
        }
    }
    for (key, entry) in &config.auths {
        if let Some((user, _password)) = entry.auth.as_deref().and_then(decode_auth) {
            add(key, user, AccountSource::DockerConfig);
        }
    }
    found
        .into_iter()
        .map(|(host, user, source)| Account {
            kind: AccountKind::Registry,
            host,
            user,
            name: None,
            api_url: None,
            scopes: None,
            warnings: Vec::new(),
            source,
            secret: SecretState::Set,
            validated_at_ms: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_entries_decode_to_user_and_password() {
        let auth = base64::engine::general_purpose::STANDARD.encode("alice:pa:ss");
        let (user, password) = decode_auth(&auth).expect("decodes");
        assert_eq!(user, "alice");
        assert_eq!(password.expose(), "pa:ss");
        assert!(decode_auth("not base64!").is_none());
    }

    #[test]
    fn config_files_parse_with_every_field() {
        let config: ConfigFile = serde_json::from_str(
            r#"{"auths":{"https://index.docker.io/v1/":{},"localhost:5000":{"auth":"YTpi"}},
                "credsStore":"desktop","credHelpers":{"gcr.io":"gcloud"},"psFormat":"x"}"#,
        )
        .expect("parses");
        assert_eq!(config.auths.len(), 2);
        assert_eq!(config.creds_store.as_deref(), Some("desktop"));
        assert_eq!(
            config.cred_helpers.get("gcr.io").map(String::as_str),
            Some("gcloud")
        );
        assert_eq!(
            format!("{:?}", config.auths["localhost:5000"]),
            "AuthEntry(***)"
        );
    }
}
