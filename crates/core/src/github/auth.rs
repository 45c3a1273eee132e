//! GitHub token validation: `GET /user` through octocrab, reading the login
//! and the token's scopes (`x-oauth-scopes`).

use http_body_util::BodyExt;
use serde::Deserialize;

use super::{GITHUB_SCOPES, GithubClient, GithubError};
use crate::http::error_message;

/// Who a token belongs to and what it may do.
#[derive(Debug)]
pub struct User {
    pub login: String,
    pub name: Option<String>,
    /// `None` when GitHub does not report scopes (fine-grained tokens).
    pub scopes: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct UserBody {
    login: String,
    #[serde(default)]
    name: Option<String>,
}

/// `GET /user`: the token's owner and scopes, or why GitHub said no.
pub async fn authenticated_user(client: &GithubClient) -> Result<User, GithubError> {
    let (api, host) = (client.api(), client.host());
    let url = format!("{api}/user");
    let unavailable = |detail: String| GithubError::Unavailable {
        url: url.clone(),
        detail,
        hint: format!(
            "Check your connection and the API URL for {host} (settings, or SLIPWAY_GITHUB_API_URL)."
        ),
    };
    let response = client
        .octocrab()
        ._get("/user")
        .await
        .map_err(|e| unavailable(crate::error::root_cause(&e)))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| unavailable(crate::error::root_cause(&e)))?
        .to_bytes();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match status.as_u16() {
        200 => {
            let user: UserBody = serde_json::from_slice(&body)
                .map_err(|e| unavailable(format!("the answer to GET /user is not a user: {e}")))?;
            Ok(User {
                login: user.login,
                name: user.name.filter(|n| !n.is_empty()),
                scopes: header("x-oauth-scopes").map(parse_scopes),
            })
        }
        401 => Err(GithubError::Rejected {
            host: host.to_string(),
            reason: error_message(&body),
            hint: format!(
                "Create a token at https://{host}/settings/tokens with the repo and workflow scopes, then sign in again."
            ),
        }),
        403 | 429 if header("x-ratelimit-remaining") == Some("0") => {
            Err(GithubError::RateLimited {
                host: host.to_string(),
                reset: header("x-ratelimit-reset").and_then(|r| r.parse().ok()),
                detail: error_message(&body),
            })
        }
        403 => Err(GithubError::Rejected {
            host: host.to_string(),
            reason: error_message(&body),
            hint: "The token may be revoked or need SSO authorisation for your organisation."
                .into(),
        }),
        code => Err(unavailable(format!(
            "HTTP {code}: {}",
            error_message(&body)
        ))),
    }
}

/// `"repo, workflow"` → `["repo", "workflow"]`.
fn parse_scopes(header: &str) -> Vec<String> {
    header
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// What will not work with these scopes, in words.
pub fn scope_warnings(scopes: Option<&[String]>) -> Vec<String> {
    let Some(scopes) = scopes else {
        return vec![
            "GitHub does not report this token's permissions (a fine-grained token): \
             it needs read and write access to Contents, Pull requests and Actions."
                .into(),
        ];
    };
    GITHUB_SCOPES
        .iter()
        .filter(|needed| !scopes.iter().any(|s| s == *needed))
        .map(|missing| match *missing {
            "repo" => "missing scope `repo`: Slipway cannot push branches or open pull requests \
                       with this token"
                .to_string(),
            "workflow" => "missing scope `workflow`: GitHub refuses pushes that change \
                           .github/workflows with this token"
                .to_string(),
            other => format!("missing scope `{other}`"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_read_and_missing_ones_named() {
        let scopes = parse_scopes("admin:org, repo, user");
        assert_eq!(scopes, ["admin:org", "repo", "user"]);
        let warnings = scope_warnings(Some(&scopes));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("missing scope `workflow`"));
        assert!(scope_warnings(Some(&parse_scopes("repo, workflow"))).is_empty());
        assert_eq!(scope_warnings(Some(&parse_scopes(""))).len(), 2);
        assert!(scope_warnings(None)[0].contains("fine-grained"));
    }
}
