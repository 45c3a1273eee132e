//! A stand-in for Docker Hub's legacy build trigger: `POST
//! /hub/u/{user}/{repo}/trigger/{token}/` with the form `build=true`
//! answers `OK` (tests/contracts/dockerhub); it records what arrived, and
//! can be told to fail or to answer late.

use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::Shared;

const OK: &str = include_str!("../../contracts/dockerhub/legacy_trigger.200.response.txt");

/// One request the trigger received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubTrigger {
    pub token: String,
    pub content_type: String,
    pub body: String,
    /// When it arrived (ms since the Unix epoch).
    pub at_ms: u128,
}

/// How the trigger answers its next requests.
#[derive(Debug, Clone, Default)]
pub struct HubAnswer {
    /// A status other than 200.
    pub status: Option<u16>,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
}

/// `POST /hub/u/{user}/{repo}/trigger/{token}/`.
pub(super) async fn trigger(
    State(world): State<Shared>,
    UrlPath((_user, _repo, token)): UrlPath<(String, String, String)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let answer = {
        let mut world = world.lock().expect("lock");
        world.hub.push(HubTrigger {
            token,
            content_type: headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string(),
            body: body.clone(),
            at_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis()),
        });
        world.hub_answer.clone()
    };
    if let Some(delay) = answer.delay {
        tokio::time::sleep(delay).await;
    }
    if body != "build=true" {
        return (StatusCode::BAD_REQUEST, "expected build=true").into_response();
    }
    match answer.status {
        Some(status) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "trigger failed",
        )
            .into_response(),
        None => (StatusCode::OK, OK.trim_end().to_string()).into_response(),
    }
}

/// One request a webhook received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub name: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Whether `X-Hub-Signature-256` was the HMAC-SHA256 of the body keyed
    /// with the fake's webhook key (`None` without a key or a header).
    pub signature_valid: Option<bool>,
}

/// `POST|PUT|PATCH|GET /hooks/{name}`: a deploy webhook's receiver; with a
/// key set, a bad signature is refused with 401.
pub(super) async fn webhook(
    State(world): State<Shared>,
    UrlPath(name): UrlPath<String>,
    method: axum::http::Method,
    headers: HeaderMap,
    body: String,
) -> Response {
    use hmac::{Hmac, Mac};
    let mut world = world.lock().expect("lock");
    let signature_valid = match (
        world.webhook_key.as_deref(),
        headers
            .get("x-hub-signature-256")
            .and_then(|v| v.to_str().ok()),
    ) {
        (Some(key), Some(sent)) => {
            // Computed here, not with the core's function: a wrong signature
            // from the core must fail the test.
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("hmac key");
            mac.update(body.as_bytes());
            let hex: String = mac
                .finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            Some(sent == format!("sha256={hex}"))
        }
        _ => None,
    };
    world.hooks.push(Hook {
        name,
        method: method.to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect(),
        body,
        signature_valid,
    });
    if signature_valid == Some(false) {
        return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
    }
    (StatusCode::ACCEPTED, "queued").into_response()
}
