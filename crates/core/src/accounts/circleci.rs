//! CircleCI token validation: `GET /me` with the `Circle-Token` header.

use serde::Deserialize;

use super::AccountError;
use crate::http::error_message;
use crate::secrets::Secret;

/// The token's owner.
#[derive(Debug, Deserialize)]
pub(super) struct Me {
    pub login: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// `GET {api}/me`: who the token belongs to, or why CircleCI said no.
pub(super) async fn me(api: &str, host: &str, token: &Secret) -> Result<Me, AccountError> {
    let url = format!("{api}/me");
    let unavailable = |detail: String| {
        AccountError::Unavailable {
        service: "CircleCI",
        url: url.clone(),
        detail,
        hint: "Check your connection and the CircleCI API URL (settings, or SLIPWAY_CIRCLECI_API_URL)."
            .into(),
    }
    };
    let mut value = reqwest::header::HeaderValue::from_str(token.expose()).map_err(|_| {
        AccountError::BadInput {
            message: "the CircleCI token has characters a token cannot have".into(),
            hint: "Copy the token again from CircleCI → User Settings → Personal API Tokens."
                .into(),
        }
    })?;
    value.set_sensitive(true);
    let response = crate::http::client()
        .get(&url)
        .header("Circle-Token", value)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| unavailable(crate::error::root_cause(&e)))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| unavailable(crate::error::root_cause(&e)))?;
    match status.as_u16() {
        200 => {
            let me: Me = serde_json::from_slice(&body)
                .map_err(|e| unavailable(format!("the answer to GET /me is not a user: {e}")))?;
            Ok(Me {
                name: me.name.filter(|n| !n.is_empty()),
                ..me
            })
        }
        401 | 403 => Err(AccountError::Rejected {
            service: "CircleCI",
            host: host.to_string(),
            reason: error_message(&body),
            hint: "Create a personal API token in CircleCI → User Settings → Personal API Tokens \
                   (project tokens do not work with API v2), then sign in again."
                .into(),
        }),
        code => Err(unavailable(format!(
            "HTTP {code}: {}",
            error_message(&body)
        ))),
    }
}
