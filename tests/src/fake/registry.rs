//! A fake registry with Docker Hub's token auth: `/v2/` challenges, the
//! realm trades Basic credentials for a bearer token.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Shared;

/// `GET /v2/` without credentials: Docker Hub's challenge.
pub(super) async fn base(request_headers: HeaderMap) -> Response {
    let host = request_headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let challenge = format!(r#"Bearer realm="http://{host}/token",service="fake.registry""#);
    (
        StatusCode::UNAUTHORIZED,
        [
            ("www-authenticate", challenge),
            ("docker-distribution-api-version", "registry/2.0".to_string()),
        ],
        axum::Json(json!({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required", "detail": null}]})),
    )
        .into_response()
}

/// The token realm: Basic credentials in, a bearer token out.
pub(super) async fn token(State(world): State<Shared>, request_headers: HeaderMap) -> Response {
    use base64::Engine as _;
    let credentials = request_headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let valid = credentials
        .as_deref()
        .and_then(|c| c.split_once(':'))
        .is_some_and(|(user, password)| {
            world
                .lock()
                .expect("lock")
                .registry
                .get(user)
                .map(String::as_str)
                == Some(password)
        });
    if !valid {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "details": "incorrect username or password" })),
        )
            .into_response();
    }
    axum::Json(json!({
        "token": "fake-registry-token",
        "access_token": "fake-registry-token",
        "expires_in": 300,
        "issued_at": "2026-11-26T00:00:00Z"
    }))
    .into_response()
}
