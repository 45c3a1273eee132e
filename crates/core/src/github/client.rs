//! The GitHub API client: one per host, API URL and token, built on first
//! use and shared after (octocrab keeps a connection pool per client).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use serde_json::Value;
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

    /// How long until the spent rate limit refills; zero when it is not spent.
    pub fn until_reset(&self) -> std::time::Duration {
        let budget = self.budget();
        match (budget.remaining, budget.reset) {
            (Some(0), Some(reset)) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                std::time::Duration::from_secs(reset.saturating_sub(now).max(1))
            }
            _ => std::time::Duration::ZERO,
        }
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
        let answer = self.send(http::Method::GET, path, None, etag).await?;
        if answer.status == 304 {
            return Ok(Fetched::Unchanged);
        }
        let answer = answer.success(self, path)?;
        Ok(Fetched::Changed {
            value: answer.json(path)?,
            etag: answer.header("etag").map(str::to_string),
            next: answer.header("link").and_then(next_link),
        })
    }

    /// `GET path` as text (a job's log), following GitHub's redirect to
    /// where it is kept.
    pub async fn get_text(&self, path: &str) -> Result<String, GithubError> {
        let answer = self
            .send(http::Method::GET, path, None, None)
            .await?
            .success(self, path)?;
        Ok(String::from_utf8_lossy(&answer.body).into_owned())
    }

    /// `GET path` without a conditional: the resource, or why not.
    pub async fn get_value<T: DeserializeOwned>(&self, path: &str) -> Result<T, GithubError> {
        match self.get_json(path, None).await? {
            Fetched::Changed { value, .. } => Ok(value),
            Fetched::Unchanged => Err(self.unavailable(path, "an unasked-for 304".into())),
        }
    }

    /// Every page of a list at `path`, following `Link: rel="next"`;
    /// `items` takes a page's items out of its body.
    pub async fn get_all_pages<P: DeserializeOwned, T>(
        &self,
        path: &str,
        mut items: impl FnMut(P) -> Vec<T>,
    ) -> Result<Vec<T>, GithubError> {
        let mut all = Vec::new();
        let mut next = Some(path.to_string());
        while let Some(url) = next.take() {
            match self.get_json::<P>(&url, None).await? {
                Fetched::Changed {
                    value, next: more, ..
                } => {
                    all.extend(items(value));
                    next = more;
                }
                Fetched::Unchanged => break,
            }
        }
        Ok(all)
    }

    /// Sends a request and returns GitHub's answer whatever its status,
    /// with the rate budget noted; rate limits, refused tokens and
    /// unreachable servers are errors already.
    /// POSTs `body`; the answer's JSON (`null` for a 204), or GitHub's
    /// refusal in its words.
    pub async fn post_json(&self, path: &str, body: &Value) -> Result<Value, GithubError> {
        let answer = self
            .send(http::Method::POST, path, Some(body), None)
            .await?;
        if answer.status == 422 || answer.status == 404 {
            return Err(GithubError::Invalid {
                message: format!(
                    "GitHub refused {path}: {}",
                    crate::http::error_message(&answer.body)
                ),
            });
        }
        let answer = answer.success(self, path)?;
        if answer.body.is_empty() {
            return Ok(Value::Null);
        }
        answer.json(path)
    }

    pub(crate) async fn send(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&serde_json::Value>,
        etag: Option<&str>,
    ) -> Result<Answer, GithubError> {
        let url = self.url(path);
        let unavailable = |detail: String| self.unavailable(&url, detail);
        let response = match (method.clone(), body) {
            (http::Method::GET, _) => {
                let mut headers = http::HeaderMap::new();
                if let Some(tag) = etag.and_then(|t| http::HeaderValue::from_str(t).ok()) {
                    headers.insert(http::header::IF_NONE_MATCH, tag);
                }
                self.octocrab
                    ._get_with_headers(url.as_str(), Some(headers))
                    .await
            }
            (http::Method::POST, body) => self.octocrab._post(url.as_str(), body).await,
            (http::Method::PUT, body) => self.octocrab._put(url.as_str(), body).await,
            (http::Method::PATCH, body) => self.octocrab._patch(url.as_str(), body).await,
            (other, _) => {
                return Err(unavailable(format!(
                    "{other} is not a method Slipway sends"
                )));
            }
        }
        .map_err(|e| unavailable(crate::error::root_cause(&e)))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| unavailable(crate::error::root_cause(&e)))?
            .to_bytes();
        let answer = Answer {
            status,
            headers,
            body,
        };
        {
            let mut budget = self.budget.lock().unwrap_or_else(|e| e.into_inner());
            budget.remaining = answer.number("x-ratelimit-remaining").or(budget.remaining);
            budget.reset = answer.number("x-ratelimit-reset").or(budget.reset);
        }
        match status {
            401 => Err(GithubError::Expired {
                host: self.host.clone(),
                reason: error_message(&answer.body),
            }),
            403 | 429
                if answer.header("retry-after").is_some()
                    || answer.number("x-ratelimit-remaining") == Some(0)
                    || mentions_secondary(&answer.body) =>
            {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let secondary =
                    answer.header("retry-after").is_some() || mentions_secondary(&answer.body);
                // GitHub: with no retry-after, wait at least a minute.
                let reset = match secondary {
                    true => Some(now + answer.number("retry-after").unwrap_or(60)),
                    false => answer.number("x-ratelimit-reset"),
                };
                Err(GithubError::RateLimited {
                    host: self.host.clone(),
                    reset,
                    detail: error_message(&answer.body),
                    secondary,
                })
            }
            _ => Ok(answer),
        }
    }

    /// The GraphQL endpoint beside the REST API (`/graphql` on
    /// api.github.com, `/api/graphql` on GitHub Enterprise).
    pub(crate) fn graphql_url(&self) -> String {
        match self.api.strip_suffix("/api/v3") {
            Some(root) => format!("{root}/api/graphql"),
            None => format!("{}/graphql", self.api.trim_end_matches('/')),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.api)
        }
    }

    fn unavailable(&self, url: &str, detail: String) -> GithubError {
        GithubError::Unavailable {
            url: self.url(url),
            detail,
            hint: "Check your connection; Slipway tries again.".into(),
        }
    }

    /// `github.com` or a GitHub Enterprise host.
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// An answer from GitHub, not yet judged.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    headers: http::HeaderMap,
    pub(crate) body: bytes::Bytes,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn number(&self, name: &str) -> Option<u64> {
        self.header(name).and_then(|v| v.trim().parse().ok())
    }

    /// The answer when it is a success; a 404 or another failure as an error.
    pub(crate) fn success(self, client: &GithubClient, path: &str) -> Result<Self, GithubError> {
        match self.status {
            200..=299 => Ok(self),
            404 => Err(GithubError::NotFound {
                what: path.to_string(),
                host: client.host.clone(),
            }),
            code => {
                Err(client.unavailable(path, format!("HTTP {code}: {}", error_message(&self.body))))
            }
        }
    }

    /// The body as `T`.
    pub(crate) fn json<T: DeserializeOwned>(&self, path: &str) -> Result<T, GithubError> {
        serde_json::from_slice(&self.body).map_err(|e| GithubError::Unavailable {
            url: path.to_string(),
            detail: format!("the answer is not what GitHub sends: {e}"),
            hint: "Check the GitHub API URL (settings or SLIPWAY_GITHUB_API_URL).".into(),
        })
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

/// Whether an error body names GitHub's secondary rate limit.
fn mentions_secondary(body: &[u8]) -> bool {
    crate::http::error_message(body)
        .to_lowercase()
        .contains("secondary rate limit")
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
