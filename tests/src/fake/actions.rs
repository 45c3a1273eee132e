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

const JOB: &str = include_str!("../../contracts/github/get_job_for_workflow_run.json");
const ANNOTATIONS: &str = include_str!("../../contracts/github/list_check_run_annotations.json");

/// An Actions job: a check run of the `github-actions` app, with its steps,
/// its log and its annotations.
#[derive(Debug, Clone)]
pub struct ActionsJob {
    pub id: u64,
    pub run_id: u64,
    pub name: String,
    pub head_sha: String,
    /// (step, conclusion), in order.
    pub steps: Vec<(String, String)>,
    pub log: String,
    /// (path, line, message).
    pub annotations: Vec<(String, u64, String)>,
}

/// A job's check run, as GitHub lists it.
pub fn job_check_run(
    full: &str,
    job: &ActionsJob,
    status: &str,
    conclusion: Option<&str>,
) -> Value {
    json!({
        "id": job.id, "name": job.name, "head_sha": job.head_sha, "status": status,
        "conclusion": conclusion,
        "started_at": "2026-12-01T10:00:00Z",
        "completed_at": conclusion.map(|_| "2026-12-01T10:02:00Z"),
        "html_url": format!("https://github.com/{full}/actions/runs/{}/job/{}", job.run_id, job.id),
        "check_suite": { "id": job.run_id },
        "app": { "slug": "github-actions", "name": "GitHub Actions" },
    })
}

fn find_job<'a>(world: &'a mut World, full: &str, id: u64) -> Option<&'a ActionsJob> {
    repo(world, full)?.jobs.iter().rev().find(|j| j.id == id)
}

/// `GET /repos/{owner}/{repo}/actions/jobs/{id}`.
pub(super) async fn get_job(
    State(world): State<Shared>,
    UrlPath((owner, name, id)): UrlPath<(String, String, u64)>,
) -> Response {
    let mut world = world.lock().expect("lock");
    let headers = github_headers(&mut world);
    let full = format!("{owner}/{name}");
    let Some(job) = find_job(&mut world, &full, id).cloned() else {
        return not_found(headers);
    };
    let mut v: Value = serde_json::from_str(JOB).expect("contract");
    let failed = job.steps.iter().any(|(_, c)| c == "failure");
    v["id"] = json!(job.id);
    v["run_id"] = json!(job.run_id);
    v["name"] = json!(job.name);
    v["head_sha"] = json!(job.head_sha);
    v["conclusion"] = json!(if failed { "failure" } else { "success" });
    v["html_url"] = json!(format!(
        "https://github.com/{full}/actions/runs/{}/job/{}",
        job.run_id, job.id
    ));
    let template = v["steps"][0].clone();
    v["steps"] = json!(
        job.steps
            .iter()
            .enumerate()
            .map(|(i, (step, conclusion))| {
                let mut s = template.clone();
                s["name"] = json!(step);
                s["conclusion"] = json!(conclusion);
                s["number"] = json!(i + 1);
                s
            })
            .collect::<Vec<_>>()
    );
    (StatusCode::OK, headers, v.to_string()).into_response()
}

/// `GET /repos/{owner}/{repo}/actions/jobs/{id}/logs`: 302 to the log,
/// as GitHub answers.
pub(super) async fn job_logs(
    State(world): State<Shared>,
    UrlPath((owner, name, id)): UrlPath<(String, String, u64)>,
) -> Response {
    let mut world = world.lock().expect("lock");
    let mut headers = github_headers(&mut world);
    let full = format!("{owner}/{name}");
    if find_job(&mut world, &full, id).is_none() {
        return not_found(headers);
    }
    // Another host, as GitHub's log store is: no client sends the token there.
    let api = world.api_url.replace("127.0.0.1", "localhost");
    let root = api.trim_end_matches("/github");
    let location = format!("{root}/blobs/job-logs/{owner}/{name}/{id}?sig=signed");
    headers.insert("location", location.parse().expect("location"));
    (StatusCode::FOUND, headers).into_response()
}

/// Where the log redirect leads: the log as text, with no token needed.
pub(super) async fn job_log_blob(
    State(world): State<Shared>,
    UrlPath((owner, name, id)): UrlPath<(String, String, u64)>,
    request: axum::http::HeaderMap,
) -> Response {
    let mut world = world.lock().expect("lock");
    // GitHub's token is for GitHub's API only.
    if request.contains_key("authorization") {
        world
            .unknown
            .push("a GitHub token sent to the log store".into());
    }
    match find_job(&mut world, &format!("{owner}/{name}"), id) {
        Some(job) => (StatusCode::OK, job.log.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /repos/{owner}/{repo}/check-runs/{id}/annotations`.
pub(super) async fn annotations(
    State(world): State<Shared>,
    UrlPath((owner, name, id)): UrlPath<(String, String, u64)>,
) -> Response {
    let mut world = world.lock().expect("lock");
    let headers = github_headers(&mut world);
    let full = format!("{owner}/{name}");
    let notes = find_job(&mut world, &full, id)
        .map(|j| j.annotations.clone())
        .unwrap_or_default();
    let template: Vec<Value> = serde_json::from_str(ANNOTATIONS).expect("contract");
    let items: Vec<Value> = notes
        .iter()
        .map(|(path, line, message)| {
            let mut a = template[0].clone();
            a["path"] = json!(path);
            a["start_line"] = json!(line);
            a["end_line"] = json!(line);
            a["annotation_level"] = json!("failure");
            a["title"] = json!("Error");
            a["message"] = json!(message);
            a
        })
        .collect();
    (StatusCode::OK, headers, json!(items).to_string()).into_response()
}

/// `POST /repos/{owner}/{repo}/actions/runs/{id}/rerun-failed-jobs` and
/// `.../rerun`: the jobs run again, queued under new check runs.
pub(super) async fn rerun(
    State(world): State<Shared>,
    UrlPath((owner, name, run_id, what)): UrlPath<(String, String, u64, String)>,
) -> Response {
    let mut world = world.lock().expect("lock");
    let headers = github_headers(&mut world);
    let full = format!("{owner}/{name}");
    let Some(repo) = repo(&mut world, &full) else {
        return not_found(headers);
    };
    let only_failed = match what.as_str() {
        "rerun-failed-jobs" => true,
        "rerun" => false,
        _ => return not_found(headers),
    };
    let again: Vec<ActionsJob> = repo
        .jobs
        .iter()
        .filter(|j| j.run_id == run_id)
        .filter(|j| !only_failed || j.steps.iter().any(|(_, c)| c == "failure"))
        .cloned()
        .collect();
    if again.is_empty() {
        return (
            StatusCode::FORBIDDEN,
            headers,
            r#"{"message":"This workflow run cannot be rerun.","status":"403"}"#,
        )
            .into_response();
    }
    for mut job in again {
        job.id = 1000 + repo.check_runs.len() as u64;
        repo.check_runs
            .push(job_check_run(&full, &job, "queued", None));
        repo.jobs.push(job);
    }
    repo.reruns.push(format!("{run_id}/{what}"));
    (StatusCode::CREATED, headers, "{}").into_response()
}
