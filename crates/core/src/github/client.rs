//! The GitHub API client: one per host, API URL and token, built on first
//! use and shared after (octocrab keeps a connection pool per client).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::GithubError;
use crate::http::error_message;
use crate::secrets::Secret;

/// What a conditional GET found.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched<T> {
    /// Nothing changed since the ETag given (a 304, which GitHub does not
    /// charge against the rate limit).
    Unchanged,
    /// The resource, its ETag, and the next page's URL when there is one.
    Changed {
        value: T,
        etag: Option<String>,
        next: Option<String>,
    },
}

/// What GitHub said of the rate limit in its last answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateBudget {
    /// Requests left in the window.
    pub remaining: Option<u64>,
    /// When the window refills, Unix seconds.
    pub reset: Option<u64>,
}

/// A GitHub API client for one host and token.
#[derive(Clone)]
pub struct GithubClient {
    host: String,
    api: String,
    octocrab: Arc<octocrab::Octocrab>,
    budget: Arc<Mutex<RateBudget>>,
}

impl std::fmt::Debug for GithubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubClient")
            .field("host", &self.host)
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

/// Clients already built, by host, API URL and a digest of the token (a new
/// token gets a new client; the token itself is not kept as a key).
type Cache = Mutex<HashMap<(String, String, [u8; 32]), GithubClient>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

impl GithubClient {
    /// The shared client for `host` at `api` with `token`, built once.
    pub fn shared(host: &str, api: &str, token: &Secret) -> Result<Self, GithubError> {
        let key = (
            host.to_string(),
            api.to_string(),
            Sha256::digest(token.expose().as_bytes()).into(),
        );
        let mut cache = cache().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = cache.get(&key) {
            return Ok(client.clone());
        }
        let client = Self::build(host, api, token)?;
        cache.insert(key, client.clone());
        Ok(client)
    }

    /// A new client, not shared (a token being checked before it is stored).
    pub fn build(host: &str, api: &str, token: &Secret) -> Result<Self, GithubError> {
        let unavailable = |detail: String| GithubError::Unavailable {
            url: api.to_string(),
            detail,
            hint: "Check the GitHub API URL (settings or SLIPWAY_GITHUB_API_URL).".into(),
        };
        let octocrab = octocrab::Octocrab::builder()
            .base_uri(api)
            .map_err(|e| unavailable(e.to_string()))?
            .personal_token(token.expose().to_string())
            // Slipway decides when to try again (rate limits, outages): a
            // retry inside the client would spend the limit behind its back.
            .add_retry_config(octocrab::service::middleware::retry::RetryConfig::None)
            .add_header(
                http::header::ACCEPT,
                "application/vnd.github+json".to_string(),
            )
            .add_header(
                http::HeaderName::from_static("x-github-api-version"),
                "2022-11-28".to_string(),
            )
            .build()
            .map_err(|e| unavailable(e.to_string()))?;
        Ok(GithubClient {
            host: host.to_string(),
            api: api.to_string(),
            octocrab: Arc::new(octocrab),
            budget: Arc::default(),
        })
    }

    /// The rate limit as GitHub last reported it to this client.
    pub fn budget(&self) -> RateBudget {
        *self.budget.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `GET path` (relative to the API, or a full URL from a `Link`
    /// header), sent with `If-None-Match: etag` when one is given. Rate
    /// limits, refused tokens, missing resources and server errors come
    /// back as a [`GithubError`] that says what to do.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        etag: Option<&str>,
    ) -> Result<Fetched<T>, GithubError> {
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.api)
        };
        let unavailable = |detail: String| GithubError::Unavailable {
            url: url.clone(),
            detail,
            hint: "Check your connection; Slipway tries again.".into(),
        };
        let mut headers = http::HeaderMap::new();
        if let Some(tag) = etag.and_then(|t| http::HeaderValue::from_str(t).ok()) {
            headers.insert(http::header::IF_NONE_MATCH, tag);
        }
        let response = self
            .octocrab
            ._get_with_headers(url.as_str(), Some(headers))
            .await
            .map_err(|e| unavailable(crate::error::root_cause(&e)))?;
        let status = response.status().as_u16();
        let head = response.headers().clone();
        let header = |name: &str| head.get(name).and_then(|v| v.to_str().ok());
        let number = |name: &str| header(name).and_then(|v| v.trim().parse::<u64>().ok());
        {
            let mut budget = self.budget.lock().unwrap_or_else(|e| e.into_inner());
            budget.remaining = number("x-ratelimit-remaining").or(budget.remaining);
            budget.reset = number("x-ratelimit-reset").or(budget.reset);
        }
        if status == 304 {
            return Ok(Fetched::Unchanged);
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| unavailable(crate::error::root_cause(&e)))?
            .to_bytes();
        match status {
            200..=299 => {
                let value = serde_json::from_slice(&body).map_err(|e| {
                    unavailable(format!(
                        "the answer to GET {path} is not what GitHub sends: {e}"
                    ))
                })?;
                Ok(Fetched::Changed {
                    value,
                    etag: header("etag").map(str::to_string),
                    next: header("link").and_then(next_link),
                })
            }
            401 => Err(GithubError::Expired {
                host: self.host.clone(),
                reason: error_message(&body),
            }),
            403 | 429
                if header("retry-after").is_some()
                    || number("x-ratelimit-remaining") == Some(0) =>
            {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let reset = number("retry-after")
                    .map(|after| now + after)
                    .or(number("x-ratelimit-reset"));
                Err(GithubError::RateLimited {
                    host: self.host.clone(),
                    reset,
                    detail: error_message(&body),
                })
            }
            404 => Err(GithubError::NotFound {
                what: path.to_string(),
                host: self.host.clone(),
            }),
            code => Err(unavailable(format!(
                "HTTP {code}: {}",
                error_message(&body)
            ))),
        }
    }

    /// `github.com` or a GitHub Enterprise host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The API base URL.
    pub fn api(&self) -> &str {
        &self.api
    }

    /// The underlying octocrab client.
    pub fn octocrab(&self) -> &octocrab::Octocrab {
        &self.octocrab
    }
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_is_read_from_the_link_header() {
        let link = "<https://api.github.com/x?page=2>; rel=\"next\", <https://api.github.com/x?page=5>; rel=\"last\"";
        assert_eq!(
            next_link(link).as_deref(),
            Some("https://api.github.com/x?page=2")
        );
        assert_eq!(next_link("<https://a/x?page=1>; rel=\"prev\""), None);
    }

    #[tokio::test]
    async fn a_client_is_built_once_per_host_and_token() {
        let token = Secret::new("ghp_one");
        let a = GithubClient::shared("github.com", "http://127.0.0.1:9", &token).unwrap();
        let b = GithubClient::shared("github.com", "http://127.0.0.1:9", &token).unwrap();
        assert!(Arc::ptr_eq(&a.octocrab, &b.octocrab));
        let other = Secret::new("ghp_two");
        let c = GithubClient::shared("github.com", "http://127.0.0.1:9", &other).unwrap();
        assert!(!Arc::ptr_eq(&a.octocrab, &c.octocrab));
        let d = GithubClient::shared("ghe.example.com", "http://127.0.0.1:9", &token).unwrap();
        assert!(!Arc::ptr_eq(&a.octocrab, &d.octocrab));
        assert!(!format!("{a:?}").contains("ghp_one"));
    }
}
