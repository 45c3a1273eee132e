//! HTTP plumbing shared by the clients of web services (GitHub, CircleCI,
//! registries): one client configuration and one reading of error bodies.

use serde::Deserialize;

/// GitHub's public host (below the secrets, which file its token apart).
pub const GITHUB_HOST: &str = "github.com";

/// An HTTP client with timeouts and Slipway's user agent.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(30))
        .user_agent(USER_AGENT)
        .build()
        .unwrap_or_default()
}

/// What Slipway calls itself in requests.
pub const USER_AGENT: &str = concat!("slipway/", env!("CARGO_PKG_VERSION"));

/// The message of a JSON error body (`{"message": ...}`), else the body's
/// first line, short.
pub fn error_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Body {
        message: String,
    }
    if let Ok(b) = serde_json::from_slice::<Body>(body) {
        return b.message;
    }
    let text = String::from_utf8_lossy(body);
    let line = text.lines().next().unwrap_or("").trim();
    line.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_give_their_message() {
        assert_eq!(
            error_message(br#"{"message":"Bad credentials","documentation_url":"x"}"#),
            "Bad credentials"
        );
        assert_eq!(error_message(b"upstream down\nmore"), "upstream down");
    }
}
