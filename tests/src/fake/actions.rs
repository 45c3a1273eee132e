//! The fake GitHub's Actions and dispatch endpoints, for deploy triggers:
//! a `workflow_dispatch` starts a run on the repository's branch that goes
//! queued, in progress, then completed with the conclusion the test chose;
//! a `repository_dispatch` is recorded.

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::github::github_headers;
use super::{Shared, World};

/// GitHub's 404 for a repository the fake does not have.
fn not_found(headers: axum::http::HeaderMap) -> Response {
    (StatusCode::NOT_FOUND, headers, r#"{"message":"Not Found"}"#).into_response()
}

fn repo<'a>(world: &'a mut World, full: &str) -> Option<&'a mut super::repos::FakeRepo> {
    world.repos.get_mut(full)
}

const DISPATCHED: &str = include_str!("../../contracts/github/create_workflow_dispatch.json");
const RUNS: &str = include_str!("../../contracts/github/list_workflow_runs.json");

/// A workflow run a dispatch started.
#[derive(Debug, Clone)]
pub struct WorkflowRun {
    pub id: u64,
    pub workflow: String,
    pub branch: String,
    pub head_sha: String,
    pub inputs: Value,
    /// How many times it was read: it advances one state per read.
    pub reads: u32,
}

/// `POST /repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches`.
pub(super) async fn dispatch_workflow(
    State(world): State<Shared>,
    UrlPath((owner, name, workflow)): UrlPath<(String, String, String)>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut world = world.lock().expect("lock");
    let headers = github_headers(&mut world);
    let full = format!("{owner}/{name}");
    let Some(repo) = repo(&mut world, &full) else {
        return not_found(headers);
    };
    let branch = body["ref"].as_str().unwrap_or_default().to_string();
    let Some(head_sha) = repo.resolve(&format!("refs/heads/{branch}")) else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            headers,
            json!({ "message": format!("No ref found for: {branch}") }).to_string(),
        )
            .into_response();
    };
    let id = 9000 + repo.workflow_runs.len() as u64;
    repo.workflow_runs.push(WorkflowRun {
        id,
        workflow,
        branch,
        head_sha,
        inputs: body["inputs"].clone(),
        reads: 0,
    });
    if body["return_run_details"] != json!(true) {
        return (StatusCode::NO_CONTENT, headers).into_response();
    }
    let mut answer: Value = serde_json::from_str(DISPATCHED).expect("contract");
    answer["workflow_run_id"] = json!(id);
    answer["run_url"] = json!(format!("{}/repos/{full}/actions/runs/{id}", world.api_url));
    answer["html_url"] = json!(format!("https://github.com/{full}/actions/runs/{id}"));
    (StatusCode::OK, headers, answer.to_string()).into_response()
}

/// `GET /repos/{owner}/{repo}/actions/runs/{id}`.
pub(super) async fn get_run(
    State(world): State<Shared>,
    UrlPath((owner, name, id)): UrlPath<(String, String, u64)>,
) -> Response {
    let mut world = world.lock().expect("lock");
    let headers = github_headers(&mut world);
    let full = format!("{owner}/{name}");
    let Some(repo) = repo(&mut world, &full) else {
        return not_found(headers);
    };
    let conclusion = repo.workflow_conclusion.clone();
    let Some(run) = repo.workflow_runs.iter_mut().find(|r| r.id == id) else {
        return not_found(headers);
    };
    run.reads += 1;
    let runs: Value = serde_json::from_str(RUNS).expect("contract");
    let mut v = runs["workflow_runs"][0].clone();
    let (status, conclusion) = match run.reads {
        1 => ("queued", Value::Null),
        2 => ("in_progress", Value::Null),
        _ => ("completed", json!(conclusion)),
    };
    v["id"] = json!(run.id);
    v["name"] = json!(run.workflow);
    v["event"] = json!("workflow_dispatch");
    v["head_branch"] = json!(run.branch);
    v["head_sha"] = json!(run.head_sha);
    v["status"] = json!(status);
    v["conclusion"] = conclusion;
    v["html_url"] = json!(format!("https://github.com/{full}/actions/runs/{}", run.id));
    (StatusCode::OK, headers, v.to_string()).into_response()
}

/// `POST /repos/{owner}/{repo}/dispatches`.
pub(super) async fn repository_dispatch(
    State(world): State<Shared>,
    UrlPath((owner, name)): UrlPath<(String, String)>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut world = world.lock().expect("lock");
    let headers = github_headers(&mut world);
    let Some(repo) = repo(&mut world, &format!("{owner}/{name}")) else {
        return not_found(headers);
    };
    if !body["event_type"]
        .as_str()
        .is_some_and(|e| !e.is_empty() && e.len() <= 100)
    {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            headers,
            r#"{"message":"Invalid request.\n\nevent_type is missing"}"#,
        )
            .into_response();
    }
    repo.dispatches.push(body);
    (StatusCode::NO_CONTENT, headers).into_response()
}
