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

const JOB_DETAILS: &str = include_str!("../../contracts/circleci/get_job_details.json");
const BUILD_V1: &str = include_str!("../../contracts/circleci/get_build_v1.1.json");
const STEP_OUTPUT: &str = include_str!("../../contracts/circleci/step_output.json");
const RERUN: &str = include_str!("../../contracts/circleci/rerun_workflow.202.json");

/// A CircleCI job that posted its status to GitHub.
#[derive(Debug, Clone)]
pub struct CircleJob {
    pub number: u64,
    /// `gh/ORG/REPO`.
    pub slug: String,
    pub name: String,
    pub workflow_id: String,
    /// (step, failed, output).
    pub steps: Vec<(String, bool, String)>,
    /// The GitHub repository, commit and status context it reports to.
    pub full_name: String,
    pub sha: String,
    pub context: String,
}

/// `{vcs}/{org}/{repo}/{number}` of a job's URL.
type JobPath = axum::extract::Path<(String, String, String, u64)>;

/// Job `number` of project `slug`, or CircleCI's 404.
#[allow(clippy::result_large_err)] // The error is the answer, sent at once.
fn find_job<'a>(
    world: &'a super::World,
    slug: &str,
    number: u64,
) -> Result<&'a CircleJob, Response> {
    world
        .circle_jobs
        .iter()
        .find(|j| j.number == number && j.slug == slug)
        .ok_or_else(job_not_found)
}

fn job_not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({ "message": "Job not found" })),
    )
        .into_response()
}

/// v2 `GET /project/{vcs}/{org}/{repo}/job/{number}`.
pub(super) async fn job_details(
    State(world): State<Shared>,
    axum::extract::Path((vcs, org, repo, number)): JobPath,
    headers: HeaderMap,
) -> Response {
    let world = world.lock().expect("lock");
    if !known(&world, &headers) {
        return unauthorized();
    }
    let slug = format!("{vcs}/{org}/{repo}");
    let job = match find_job(&world, &slug, number) {
        Ok(job) => job,
        Err(e) => return e,
    };
    let mut v: Value = serde_json::from_str(JOB_DETAILS).expect("contract");
    v["number"] = json!(job.number);
    v["name"] = json!(job.name);
    v["project"]["slug"] = json!(slug);
    v["latest_workflow"]["id"] = json!(job.workflow_id);
    (StatusCode::OK, axum::Json(v)).into_response()
}

/// v1.1 `GET /project/{vcs}/{org}/{repo}/{number}`: the job with its steps.
pub(super) async fn build_v1(
    State(world): State<Shared>,
    axum::extract::Path((vcs, org, repo, number)): JobPath,
    headers: HeaderMap,
) -> Response {
    let world = world.lock().expect("lock");
    if !known(&world, &headers) {
        return unauthorized();
    }
    let vcs = if vcs == "github" { "gh" } else { vcs.as_str() };
    let slug = format!("{vcs}/{org}/{repo}");
    let job = match find_job(&world, &slug, number) {
        Ok(job) => job,
        Err(e) => return e,
    };
    let mut v: Value = serde_json::from_str(BUILD_V1).expect("contract");
    let template = v["steps"][0].clone();
    let root = world.api_url.trim_end_matches("/github").to_string();
    v["build_num"] = json!(job.number);
    v["vcs_revision"] = json!(job.sha);
    v["steps"] = json!(
        job.steps
            .iter()
            .enumerate()
            .map(|(i, (name, failed, _))| {
                let mut step = template.clone();
                step["name"] = json!(name);
                let action = &mut step["actions"][0];
                action["name"] = json!(name);
                action["index"] = json!(i);
                action["status"] = json!(if *failed { "failed" } else { "success" });
                action["failed"] = if *failed { json!(true) } else { Value::Null };
                action["output_url"] = json!(format!(
                    "{root}/blobs/circle-output/{}/{i}?X-Amz-Signature=x",
                    job.number
                ));
                step
            })
            .collect::<Vec<_>>()
    );
    (StatusCode::OK, axum::Json(v)).into_response()
}

/// A step's output, at its signed URL (no token).
pub(super) async fn step_output(
    State(world): State<Shared>,
    axum::extract::Path((number, index)): axum::extract::Path<(u64, usize)>,
    headers: HeaderMap,
) -> Response {
    let mut world = world.lock().expect("lock");
    if headers.contains_key("circle-token") {
        world
            .unknown
            .push("a CircleCI token sent to a signed output URL".into());
    }
    let Some((_, _, output)) = world
        .circle_jobs
        .iter()
        .find(|j| j.number == number)
        .and_then(|j| j.steps.get(index))
    else {
        return job_not_found();
    };
    let template: Vec<Value> = serde_json::from_str(STEP_OUTPUT).expect("contract");
    let mut message = template[0].clone();
    message["message"] = json!(output);
    (StatusCode::OK, axum::Json(json!([message]))).into_response()
}

/// v2 `POST /workflow/{id}/rerun`: the workflow's jobs report pending again.
pub(super) async fn rerun_workflow(
    State(world): State<Shared>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut world = world.lock().expect("lock");
    if !known(&world, &headers) {
        return unauthorized();
    }
    let jobs: Vec<CircleJob> = world
        .circle_jobs
        .iter()
        .filter(|j| j.workflow_id == id)
        .cloned()
        .collect();
    if jobs.is_empty() {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "message": "Workflow not found" })),
        )
            .into_response();
    }
    let from_failed = body["from_failed"] == json!(true);
    world.circle_reruns.push(format!(
        "{id}{}",
        if from_failed { " from_failed" } else { "" }
    ));
    let mut answer: Value = serde_json::from_str(RERUN).expect("contract");
    answer["workflow_id"] = json!(id);
    for job in jobs {
        if from_failed && !job.steps.iter().any(|(_, failed, _)| *failed) {
            continue;
        }
        if let Some(repo) = world.repos.get_mut(&job.full_name) {
            let n = repo.statuses.len() as u64 + 1;
            repo.statuses.push((
                job.sha.clone(),
                json!({
                    "id": n, "state": "pending", "context": job.context,
                    "description": "CircleCI is running your tests",
                    "target_url": format!("https://circleci.com/{}/{}", job.slug, job.number + 1),
                    "created_at": "2026-12-01T11:00:00Z",
                    "updated_at": format!("2026-12-01T11:{:02}:{:02}Z", n / 60 % 60, n % 60),
                }),
            ));
        }
    }
    (StatusCode::ACCEPTED, axum::Json(answer)).into_response()
}
