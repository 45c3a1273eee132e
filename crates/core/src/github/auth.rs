//! GitHub token validation: `GET /user` through octocrab, reading the login
//! and the token's scopes (`x-oauth-scopes`).

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
    let host = client.host();
    let create_token = || {
        format!(
            "Create a token at https://{host}/settings/tokens with the repo and workflow scopes, then sign in again."
        )
    };
    let answer = match client.send(http::Method::GET, "/user", None, None).await {
        Ok(answer) => answer,
        // A token being checked is refused, not expired.
        Err(GithubError::Expired { host, reason }) => {
            return Err(GithubError::Rejected {
                host,
                reason,
                hint: create_token(),
            });
        }
        Err(e) => return Err(e),
    };
    if answer.status == 403 {
        return Err(GithubError::Rejected {
            host: host.to_string(),
            reason: error_message(&answer.body),
            hint: "The token may be revoked or need SSO authorisation for your organisation."
                .into(),
        });
    }
    let answer = answer.success(client, "/user")?;
    let user: UserBody = answer.json("/user")?;
    Ok(User {
        login: user.login,
        name: user.name.filter(|n| !n.is_empty()),
        scopes: answer.header("x-oauth-scopes").map(parse_scopes),
    })
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
