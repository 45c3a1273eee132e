//! Registry login validation, the way `docker login` checks it: `GET /v2/`,
//! then the challenge it answers with (`Basic`, or a `Bearer` token realm)
//! with the user name and password.

use reqwest::StatusCode;

use super::AccountError;
use crate::http::{client as http_client, error_message};
use crate::secrets::Secret;

/// Docker Hub's canonical name in Slipway.
pub const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_ENDPOINT: &str = "https://registry-1.docker.io";

/// A registry to sign in to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    /// The normalized host (`docker.io`, `registry.example.com:5000`).
    pub host: String,
    /// A scheme the user wrote, if any.
    scheme: Option<&'static str>,
}

impl Target {
    pub fn parse(input: &str) -> Result<Self, AccountError> {
        let trimmed = input.trim();
        let scheme = if trimmed.starts_with("http://") {
            Some("http")
        } else if trimmed.starts_with("https://") {
            Some("https")
        } else {
            None
        };
        let host = normalize_host(trimmed)?;
        Ok(Target {
            scheme: if host == DOCKER_HUB { None } else { scheme },
            host,
        })
    }

    /// The base URL the registry API is at.
    pub fn endpoint(&self) -> String {
        self.candidates().swap_remove(0)
    }

    /// Base URLs to try in order: like the engine, a loopback registry may
    /// speak plain HTTP.
    fn candidates(&self) -> Vec<String> {
        if self.host == DOCKER_HUB {
            return vec![DOCKER_HUB_ENDPOINT.to_string()];
        }
        match self.scheme {
            Some(scheme) => vec![format!("{scheme}://{}", self.host)],
            None if is_loopback(&self.host) => vec![
                format!("https://{}", self.host),
                format!("http://{}", self.host),
            ],
            None => vec![format!("https://{}", self.host)],
        }
    }
}

fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    name == "localhost" || name.starts_with("127.") || name == "[::1]"
}

/// `https://index.docker.io/v1/`, `Registry.Example.com:5000/` → the host
/// as Slipway files it (`docker.io`, `registry.example.com:5000`).
pub fn normalize_host(input: &str) -> Result<String, AccountError> {
    let trimmed = input.trim();
    let without_scheme = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .unwrap_or(trimmed);
    let host = without_scheme
        .split('/')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'));
    if !valid {
        return Err(AccountError::BadInput {
            message: format!("{input:?} is not a registry host"),
            hint: "Give it like registry.example.com, localhost:5000 or docker.io.".into(),
        });
    }
    Ok(match host.as_str() {
        "docker.io"
        | "index.docker.io"
        | "registry-1.docker.io"
        | "registry.hub.docker.com"
        | "hub.docker.com" => DOCKER_HUB.to_string(),
        _ => host,
    })
}

/// A `WWW-Authenticate` challenge: its scheme and parameters.
#[derive(Debug, PartialEq, Eq)]
struct Challenge {
    scheme: String,
    params: Vec<(String, String)>,
}

impl Challenge {
    fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        let mut params = Vec::new();
        let mut rest = rest.trim();
        while !rest.is_empty() {
            let (key, after) = rest.split_once('=')?;
            let after = after.trim_start();
            let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
                let end = quoted.find('"')?;
                (&quoted[..end], &quoted[end + 1..])
            } else {
                let end = after.find(',').unwrap_or(after.len());
                (&after[..end], &after[end..])
            };
            params.push((key.trim().to_ascii_lowercase(), value.to_string()));
            rest = remaining.trim_start().trim_start_matches(',').trim_start();
        }
        Some(Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params,
        })
    }

    fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Checks the user name and password with the registry, like `docker login`.
pub(super) async fn check_login(
    target: &Target,
    username: &str,
    password: &Secret,
) -> Result<(), AccountError> {
    let client = http_client();
    let candidates = target.candidates();
    let mut last_error = String::new();
    for (i, base) in candidates.iter().enumerate() {
        let url = format!("{base}/v2/");
        let first = match client.get(&url).send().await {
            Ok(r) => r,
            Err(e) if i + 1 < candidates.len() && (e.is_connect() || e.is_request()) => {
                last_error = crate::error::root_cause(&e);
                continue;
            }
            Err(e) => return Err(unreachable(target, &url, crate::error::root_cause(&e))),
        };
        return match first.status() {
            StatusCode::OK => Ok(()),
            StatusCode::UNAUTHORIZED => {
                let challenge = first
                    .headers()
                    .get(reqwest::header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Challenge::parse)
                    .ok_or_else(|| {
                        unreachable(
                            target,
                            &url,
                            "401 without a WWW-Authenticate challenge".into(),
                        )
                    })?;
                answer(&client, target, &url, &challenge, username, password).await
            }
            status => Err(unreachable(
                target,
                &url,
                format!("HTTP {status} from GET /v2/"),
            )),
        };
    }
    Err(unreachable(target, &target.endpoint(), last_error))
}

async fn answer(
    client: &reqwest::Client,
    target: &Target,
    url: &str,
    challenge: &Challenge,
    username: &str,
    password: &Secret,
) -> Result<(), AccountError> {
    let (request, where_) = match challenge.scheme.as_str() {
        "basic" => (client.get(url), url.to_string()),
        "bearer" => {
            let realm = challenge.param("realm").ok_or_else(|| {
                unreachable(target, url, "a Bearer challenge without a realm".into())
            })?;
            let mut query = vec![("account", username.to_string())];
            if let Some(service) = challenge.param("service") {
                query.push(("service", service.to_string()));
            }
            (client.get(realm).query(&query), realm.to_string())
        }
        other => {
            return Err(unreachable(
                target,
                url,
                format!("an authentication scheme Slipway does not know ({other})"),
            ));
        }
    };
    let response = request
        .basic_auth(username, Some(password.expose()))
        .send()
        .await
        .map_err(|e| unreachable(target, &where_, crate::error::root_cause(&e)))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.bytes().await.unwrap_or_default();
    let reason = registry_error(&body).unwrap_or_else(|| "wrong user name or password".into());
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(AccountError::Rejected {
            service: "the registry",
            host: target.host.clone(),
            reason,
            hint: "Check the user name and password (or access token) and try again.".into(),
        }),
        _ => Err(unreachable(
            target,
            &where_,
            format!("HTTP {status}: {reason}"),
        )),
    }
}

/// The first message of a registry error body (`{"errors":[{"message"}]}`)
/// or a token server's `{"details"}` / `{"message"}`.
fn registry_error(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value
        .pointer("/errors/0/message")
        .or_else(|| value.get("details"))
        .and_then(|m| m.as_str())
        .map(str::to_string)
        .or_else(|| value.get("message").map(|_| error_message(body)))
}

fn unreachable(target: &Target, url: &str, detail: String) -> AccountError {
    AccountError::Unavailable {
        service: "the registry",
        url: url.to_string(),
        detail,
        hint: format!(
            "Check that {} is a Docker registry and is reachable from here.",
            target.host
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_normalized_like_docker() {
        for hub in [
            "docker.io",
            "https://index.docker.io/v1/",
            "registry-1.docker.io",
        ] {
            assert_eq!(
                normalize_host(hub).ok().as_deref(),
                Some(DOCKER_HUB),
                "{hub}"
            );
        }
        assert_eq!(
            normalize_host("http://LocalHost:5000/").ok().as_deref(),
            Some("localhost:5000")
        );
        assert!(normalize_host("").is_err());
        assert!(normalize_host("a b").is_err());
    }

    #[test]
    fn loopback_registries_may_speak_http() {
        let local = Target::parse("127.0.0.1:5000").expect("host");
        assert_eq!(
            local.candidates(),
            ["https://127.0.0.1:5000", "http://127.0.0.1:5000"]
        );
        let remote = Target::parse("registry.example.com").expect("host");
        assert_eq!(remote.candidates(), ["https://registry.example.com"]);
        let hub = Target::parse("https://index.docker.io/v1/").expect("host");
        assert_eq!(hub.endpoint(), DOCKER_HUB_ENDPOINT);
    }

    #[test]
    fn challenges_are_parsed() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull""#,
        )
        .expect("challenge");
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.param("realm"), Some("https://auth.docker.io/token"));
        assert_eq!(c.param("service"), Some("registry.docker.io"));
        let basic = Challenge::parse(r#"Basic realm="Registry Realm""#).expect("challenge");
        assert_eq!(basic.scheme, "basic");
        assert_eq!(basic.param("realm"), Some("Registry Realm"));
    }

    #[test]
    fn registry_errors_give_their_message() {
        let body = br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}"#;
        assert_eq!(
            registry_error(body).as_deref(),
            Some("authentication required")
        );
        assert_eq!(
            registry_error(br#"{"details":"incorrect username or password"}"#).as_deref(),
            Some("incorrect username or password")
        );
    }
}
