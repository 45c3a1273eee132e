//! The fake CircleCI API v2: who a token belongs to.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Shared;

const CIRCLECI_ME: &str = include_str!("../../contracts/circleci/get_current_user.json");

pub(super) async fn me(State(world): State<Shared>, request_headers: HeaderMap) -> Response {
    let world = world.lock().expect("lock");
    let token = request_headers
        .get("circle-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some((login, name)) = world.circleci.get(token).cloned() else {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "message": "Invalid token provided." })),
        )
            .into_response();
    };
    let mut body: Value = serde_json::from_str(CIRCLECI_ME).expect("contract payload");
    body["login"] = json!(login);
    body["name"] = json!(name);
    (StatusCode::OK, axum::Json(body)).into_response()
}
