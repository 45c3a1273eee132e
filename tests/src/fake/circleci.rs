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

const TRIGGERED: &str = include_str!("../../contracts/circleci/trigger_pipeline.201.recorded.json");
const WORKFLOWS: &str =
    include_str!("../../contracts/circleci/list_pipeline_workflows.200.recorded.json");

/// A pipeline a trigger started.
#[derive(Debug, Clone)]
pub struct CirclePipeline {
    pub id: String,
    pub number: u64,
    pub slug: String,
    pub branch: String,
    pub parameters: Value,
    /// Reads of its workflows: running on the first, ended after.
    pub reads: u32,
}

fn known(world: &super::World, headers: &HeaderMap) -> bool {
    let token = headers
        .get("circle-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    world.circleci.contains_key(token)
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({ "message": "Invalid token provided." })),
    )
        .into_response()
}

/// `POST /project/{vcs}/{org}/{repo}/pipeline`.
pub(super) async fn trigger(
    State(world): State<Shared>,
    axum::extract::Path((vcs, org, repo)): axum::extract::Path<(String, String, String)>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut world = world.lock().expect("lock");
    if !known(&world, &headers) {
        return unauthorized();
    }
    let number = 100 + world.pipelines.len() as u64;
    let id = format!("7d1e5c00-673d-47e0-8ac6-{number:012}");
    world.pipelines.push(CirclePipeline {
        id: id.clone(),
        number,
        slug: format!("{vcs}/{org}/{repo}"),
        branch: body["branch"].as_str().unwrap_or_default().to_string(),
        parameters: body["parameters"].clone(),
        reads: 0,
    });
    let mut answer: Value = serde_json::from_str(TRIGGERED).expect("contract");
    answer["id"] = json!(id);
    answer["number"] = json!(number);
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

/// `GET /pipeline/{id}/workflow`.
pub(super) async fn workflows(
    State(world): State<Shared>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut world = world.lock().expect("lock");
    if !known(&world, &headers) {
        return unauthorized();
    }
    let conclusion = world.circleci_conclusion.clone();
    let Some(pipeline) = world.pipelines.iter_mut().find(|p| p.id == id) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "message": "Pipeline not found" })),
        )
            .into_response();
    };
    pipeline.reads += 1;
    let mut list: Value = serde_json::from_str(WORKFLOWS).expect("contract");
    let mut item = list["items"][0].clone();
    item["pipeline_id"] = json!(pipeline.id);
    item["pipeline_number"] = json!(pipeline.number);
    item["project_slug"] = json!(pipeline.slug);
    item["name"] = json!("deploy");
    item["status"] = json!(if pipeline.reads == 1 {
        "running"
    } else {
        conclusion.as_str()
    });
    list["items"] = json!([item]);
    list["next_page_token"] = Value::Null;
    (StatusCode::OK, axum::Json(list)).into_response()
}
