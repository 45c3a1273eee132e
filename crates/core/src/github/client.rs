//! The GitHub API client: one per host, API URL and token, built on first
//! use and shared after (octocrab keeps a connection pool per client).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest, Sha256};

use super::GithubError;
use crate::secrets::Secret;

/// A GitHub API client for one host and token.
#[derive(Clone)]
pub struct GithubClient {
    host: String,
    api: String,
    octocrab: Arc<octocrab::Octocrab>,
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
        })
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

#[cfg(test)]
mod tests {
    use super::*;

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
