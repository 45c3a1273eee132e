//! A stateful local stand-in for GitHub and CircleCI: the official payloads
//! and headers (`tests/contracts`), ETag/304, rate-limit headers, GitHub's
//! and CircleCI's error shapes. Any request it does not know is answered
//! with a loud 501 and remembered, and tests assert there were none.
//!
//! Each service lives in its own module ([`github`], [`circleci`],
//! [`registry`]) over one shared state; [`http`] holds what they share
//! (ETags, `Link` pagination, rate-limit headers).
//!
//! GitHub's API is at `{url}/github`, CircleCI's at `{url}/circleci/api/v2`,
//! and `{url}` itself is a registry with Docker Hub's token auth (`/v2/`
//! answers 401 with a Bearer challenge whose realm is `{url}/token`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::json;

pub mod actions;
pub mod circleci;
mod githttp;
mod github;
mod graphql;
pub mod http;
pub mod hub;
mod registry;
pub mod repos;

/// A GitHub user a token belongs to.
#[derive(Debug, Clone)]
pub struct GithubUser {
    pub login: String,
    pub name: String,
    /// The `x-oauth-scopes` header; `None` for a fine-grained token (no header).
    pub scopes: Option<String>,
}

#[derive(Debug, Default)]
struct World {
    github: HashMap<String, GithubUser>,
    /// Logins git over HTTP served, one per request.
    git_served: Vec<String>,
    /// git requests refused for want of a known token.
    git_refused: usize,
    circleci: HashMap<String, (String, String)>,
    registry: HashMap<String, String>,
    /// GitHub's core rate limit.
    rate: http::RateLimit,
    /// Faults GitHub answers with next, in order, instead of the real answer.
    github_faults: std::collections::VecDeque<GithubFault>,
    /// GitHub's repositories, by `owner/name`.
    repos: HashMap<String, repos::FakeRepo>,
    /// The GitHub API's base URL, for links and `Location`.
    api_url: String,
    /// Every request, as `METHOD /path`.
    requests: Vec<String>,
    /// Requests no route knows.
    unknown: Vec<String>,
    /// What Docker Hub's build trigger received.
    hub: Vec<hub::HubTrigger>,
    /// How it answers.
    hub_answer: hub::HubAnswer,
    /// What deploy webhooks received.
    hooks: Vec<hub::Hook>,
    /// The key webhook signatures are checked with.
    webhook_key: Option<String>,
    /// CircleCI pipelines triggered.
    pipelines: Vec<circleci::CirclePipeline>,
    /// How their workflows end ("success" unless a test says).
    circleci_conclusion: String,
    /// CircleCI jobs that reported to GitHub.
    circle_jobs: Vec<circleci::CircleJob>,
    /// CircleCI workflow re-runs asked: `ID[ from_failed]`.
    circle_reruns: Vec<String>,
    /// Tokens of repository admins (the only ones the protection API answers).
    github_admins: Vec<String>,
}

type Shared = Arc<Mutex<World>>;

/// The running fake. Stops when dropped.
#[derive(Debug)]
pub struct FakeServices {
    addr: SocketAddr,
    world: Shared,
    /// Where the repositories' bare git folders live.
    git_root: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeServices {
    /// Starts on a free loopback port.
    pub fn start() -> Self {
        let world: Shared = Arc::new(Mutex::new(World::default()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let app = router(world.clone());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                addr_tx.send(listener.local_addr().expect("addr")).ok();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        stop_rx.await.ok();
                    })
                    .await
                    .expect("serve");
            });
        });
        let addr = addr_rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("fake services did not start");
        {
            let mut w = world.lock().expect("lock");
            w.api_url = format!("http://{addr}/github");
            w.circleci_conclusion = "success".into();
        }
        FakeServices {
            addr,
            world,
            git_root: tempfile::tempdir().expect("temp dir"),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The GitHub API base URL.
    pub fn github_api(&self) -> String {
        format!("{}/github", self.url())
    }

    /// The CircleCI API base URL.
    pub fn circleci_api(&self) -> String {
        format!("{}/circleci/api/v2", self.url())
    }

    /// Makes `token` a valid GitHub token of `login` with these scopes.
    pub fn github_token(&self, token: &str, login: &str, scopes: Option<&str>) -> &Self {
        self.world.lock().expect("lock").github.insert(
            token.to_string(),
            GithubUser {
                login: login.to_string(),
                name: format!("{login} (test)"),
                scopes: scopes.map(str::to_string),
            },
        );
        self
    }

    /// Revokes a GitHub token: GitHub answers 401 for it from now on.
    pub fn revoke_github_token(&self, token: &str) -> &Self {
        self.world.lock().expect("lock").github.remove(token);
        self
    }

    /// Makes `token` a valid CircleCI token of `login`.
    pub fn circleci_token(&self, token: &str, login: &str) -> &Self {
        self.world.lock().expect("lock").circleci.insert(
            token.to_string(),
            (login.to_string(), format!("{login} (test)")),
        );
        self
    }

    /// Makes `user` / `password` a valid login of the token-auth registry.
    pub fn registry_user(&self, user: &str, password: &str) -> &Self {
        self.world
            .lock()
            .expect("lock")
            .registry
            .insert(user.to_string(), password.to_string());
        self
    }

    /// A Docker Hub build trigger URL of this fake, with `token` in it.
    pub fn hub_trigger_url(&self, token: &str) -> String {
        format!("{}/hub/u/octo/app/trigger/{token}/", self.url())
    }

    /// What the build trigger received so far.
    pub fn hub_requests(&self) -> Vec<hub::HubTrigger> {
        self.world.lock().expect("lock").hub.clone()
    }

    /// How the build trigger answers from now on.
    pub fn hub_answer(&self, answer: hub::HubAnswer) {
        self.world.lock().expect("lock").hub_answer = answer;
    }

    /// A deploy webhook URL of this fake.
    pub fn webhook_url(&self, name: &str) -> String {
        format!("{}/hooks/{name}", self.url())
    }

    /// What the deploy webhooks received so far.
    pub fn webhooks(&self) -> Vec<hub::Hook> {
        self.world.lock().expect("lock").hooks.clone()
    }

    /// Checks webhook signatures with `key` (a bad one is refused with 401).
    pub fn webhook_key(&self, key: &str) {
        self.world.lock().expect("lock").webhook_key = Some(key.to_string());
    }

    /// The CircleCI pipelines triggered so far.
    pub fn circleci_pipelines(&self) -> Vec<circleci::CirclePipeline> {
        self.world.lock().expect("lock").pipelines.clone()
    }

    /// How triggered pipelines' workflows end from now on.
    pub fn circleci_conclusion(&self, status: &str) {
        self.world.lock().expect("lock").circleci_conclusion = status.to_string();
    }

    /// Every request so far, as `METHOD /path`.
    pub fn requests(&self) -> Vec<String> {
        self.world.lock().expect("lock").requests.clone()
    }

    /// A new repository on the fake GitHub; returns its bare git folder,
    /// which `git push` reaches (as `origin`, or through `url.insteadOf`).
    pub fn github_repo(&self, owner: &str, name: &str, default_branch: &str) -> std::path::PathBuf {
        let repo = repos::FakeRepo::create(self.git_root.path(), owner, name, default_branch);
        let bare = repo.bare.clone();
        self.world
            .lock()
            .expect("lock")
            .repos
            .insert(format!("{owner}/{name}"), repo);
        bare
    }

    /// Changes a repository with `change`.
    pub fn with_repo<T>(
        &self,
        full_name: &str,
        change: impl FnOnce(&mut repos::FakeRepo) -> T,
    ) -> T {
        let mut world = self.world.lock().expect("lock");
        let repo = world
            .repos
            .get_mut(full_name)
            .unwrap_or_else(|| panic!("no fake repository {full_name}"));
        change(repo)
    }

    /// Posts a commit status, as CircleCI does.
    pub fn post_status(&self, full_name: &str, sha: &str, context: &str, state: &str) {
        self.with_repo(full_name, |repo| {
            let id = repo.statuses.len() as u64 + 1;
            let at = format!("2026-12-01T10:{:02}:{:02}Z", id / 60 % 60, id % 60);
            repo.statuses.push((
                sha.to_string(),
                json!({
                    "id": id, "state": state, "context": context,
                    "description": format!("{context}: {state}"),
                    "target_url": format!("https://circleci.com/gh/{full_name}/{id}"),
                    "created_at": "2026-12-01T10:00:00Z", "updated_at": at,
                }),
            ));
            repo.auto_merge(owner_of(full_name));
        });
    }

    /// Adds or re-runs a check run (a new id, as GitHub gives a re-run);
    /// returns its id.
    pub fn check_run(
        &self,
        full_name: &str,
        sha: &str,
        name: &str,
        status: &str,
        conclusion: Option<&str>,
    ) -> u64 {
        self.with_repo(full_name, |repo| {
            let id = 1000 + repo.check_runs.len() as u64;
            repo.check_runs.push(json!({
                "id": id, "name": name, "head_sha": sha, "status": status,
                "conclusion": conclusion,
                "started_at": "2026-12-01T10:00:00Z",
                "completed_at": conclusion.map(|_| "2026-12-01T10:02:00Z"),
                "html_url": format!("https://github.com/{full_name}/runs/{id}"),
                "check_suite": { "id": 1 },
            }));
            repo.auto_merge(owner_of(full_name));
            id
        })
    }

    /// A finished Actions job on `sha`: its steps (name, conclusion), its
    /// log and its annotations (path, line, message); returns its id.
    pub fn actions_job(
        &self,
        full_name: &str,
        sha: &str,
        name: &str,
        steps: &[(&str, &str)],
        log: &str,
        annotations: &[(&str, u64, &str)],
    ) -> u64 {
        self.with_repo(full_name, |repo| {
            let id = 1000 + repo.check_runs.len() as u64;
            let job = actions::ActionsJob {
                id,
                run_id: 7000 + id,
                name: name.to_string(),
                head_sha: sha.to_string(),
                steps: steps
                    .iter()
                    .map(|(s, c)| (s.to_string(), c.to_string()))
                    .collect(),
                log: log.to_string(),
                annotations: annotations
                    .iter()
                    .map(|(p, l, m)| (p.to_string(), *l, m.to_string()))
                    .collect(),
            };
            let failed = steps.iter().any(|(_, c)| *c == "failure");
            let conclusion = if failed { "failure" } else { "success" };
            repo.check_runs.push(actions::job_check_run(
                full_name,
                &job,
                "completed",
                Some(conclusion),
            ));
            repo.jobs.push(job);
            id
        })
    }

    /// The Actions re-runs asked of a repository: `RUN/rerun[-failed-jobs]`.
    pub fn actions_reruns(&self, full_name: &str) -> Vec<String> {
        self.with_repo(full_name, |repo| repo.reruns.clone())
    }

    /// A CircleCI job `number` of workflow `workflow` that reports `context`
    /// on `sha` and ended failed when a step (name, failed, output) failed.
    pub fn circleci_job(
        &self,
        full_name: &str,
        sha: &str,
        context: &str,
        number: u64,
        workflow: &str,
        steps: &[(&str, bool, &str)],
    ) {
        let failed = steps.iter().any(|(_, f, _)| *f);
        let job = circleci::CircleJob {
            number,
            slug: format!("gh/{full_name}"),
            name: context.rsplit(": ").next().unwrap_or(context).to_string(),
            workflow_id: workflow.to_string(),
            steps: steps
                .iter()
                .map(|(n, f, o)| (n.to_string(), *f, o.to_string()))
                .collect(),
            full_name: full_name.to_string(),
            sha: sha.to_string(),
            context: context.to_string(),
        };
        self.world.lock().expect("lock").circle_jobs.push(job);
        self.with_repo(full_name, |repo| {
            let id = repo.statuses.len() as u64 + 1;
            repo.statuses.push((
                sha.to_string(),
                json!({
                    "id": id, "state": if failed { "failure" } else { "success" },
                    "context": context,
                    "description": if failed { "Your tests failed on CircleCI" } else { "Your tests passed on CircleCI!" },
                    "target_url": format!("https://circleci.com/gh/{full_name}/{number}"),
                    "created_at": "2026-12-01T10:00:00Z",
                    "updated_at": format!("2026-12-01T10:{:02}:{:02}Z", id / 60 % 60, id % 60),
                }),
            ));
        });
    }

    /// The CircleCI workflow re-runs asked: `ID[ from_failed]`.
    pub fn circleci_reruns(&self) -> Vec<String> {
        self.world.lock().expect("lock").circle_reruns.clone()
    }

    /// Requires these checks on `branch`.
    pub fn protect(&self, full_name: &str, branch: &str, contexts: &[&str]) {
        self.with_repo(full_name, |repo| {
            repo.protection.insert(
                branch.to_string(),
                contexts.iter().map(|c| c.to_string()).collect(),
            );
        });
    }

    /// Requires these checks on `branch` through a repository ruleset.
    pub fn ruleset(&self, full_name: &str, branch: &str, contexts: &[&str]) {
        self.with_repo(full_name, |repo| {
            repo.rulesets.insert(
                branch.to_string(),
                contexts.iter().map(|c| c.to_string()).collect(),
            );
        });
    }

    /// `login` reviews pull request `number`: `APPROVED`,
    /// `CHANGES_REQUESTED`, `COMMENTED` or `DISMISSED`; a review answers
    /// the request for one.
    pub fn review(&self, full_name: &str, number: u64, login: &str, state: &str) {
        self.with_pull(full_name, number, |pull| {
            pull.reviews.push((login.to_string(), state.to_string()));
            pull.requested.retain(|r| r != login);
        });
    }

    /// Asks `login` to review pull request `number`.
    pub fn request_review(&self, full_name: &str, number: u64, login: &str) {
        self.with_pull(full_name, number, |pull| {
            pull.requested.push(login.to_string());
        });
    }

    /// Sets pull request `number`'s review threads: whether each is resolved.
    pub fn review_threads(&self, full_name: &str, number: u64, resolved: &[bool]) {
        self.with_pull(full_name, number, |pull| {
            pull.threads = resolved.to_vec();
        });
    }

    /// Requires `count` approving reviews of pull requests into `branch`
    /// through a repository ruleset.
    pub fn require_approvals(&self, full_name: &str, branch: &str, count: u32) {
        self.with_repo(full_name, |repo| {
            repo.approvals.insert(branch.to_string(), count);
        });
    }

    fn with_pull(&self, full_name: &str, number: u64, change: impl FnOnce(&mut repos::Pull)) {
        self.with_repo(full_name, |repo| {
            let pull = repo
                .pulls
                .iter_mut()
                .find(|p| p.number == number)
                .unwrap_or_else(|| panic!("no pull request #{number} in {full_name}"));
            change(pull);
        });
    }

    /// Makes `token` an admin of every repository (the protection API answers it).
    pub fn github_admin(&self, token: &str) -> &Self {
        self.world
            .lock()
            .expect("lock")
            .github_admins
            .push(token.to_string());
        self
    }

    /// Makes GitHub answer its next requests with these faults, in order.
    pub fn github_faults(&self, faults: &[GithubFault]) {
        self.world
            .lock()
            .expect("lock")
            .github_faults
            .extend(faults.iter().cloned());
    }

    /// How many injected faults GitHub has yet to answer with.
    pub fn github_faults_left(&self) -> usize {
        self.world.lock().expect("lock").github_faults.len()
    }

    /// GitHub's rate limit as the fake keeps it: what was charged, what is left.
    pub fn github_rate(&self) -> http::RateLimit {
        self.world.lock().expect("lock").rate.clone()
    }

    /// The logins git over HTTP (`url()/git/OWNER/NAME.git`) served, one
    /// per request, and how many it refused for want of a token.
    pub fn git_http(&self) -> (Vec<String>, usize) {
        let world = self.world.lock().expect("lock");
        (world.git_served.clone(), world.git_refused)
    }

    /// Requests no route knew.
    pub fn unknown(&self) -> Vec<String> {
        self.world.lock().expect("lock").unknown.clone()
    }
}

impl Drop for FakeServices {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        if let Some(thread) = self.thread.take() {
            thread.join().ok();
        }
        let unknown = self.unknown();
        if !unknown.is_empty() && !std::thread::panicking() {
            panic!("the fake services got requests they do not know: {unknown:?}");
        }
    }
}

/// A fault the fake GitHub answers one request with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GithubFault {
    /// 403 with `x-ratelimit-remaining: 0` and the reset this many seconds away.
    PrimaryRateLimit { reset_in: u64 },
    /// 429 (or 403) with `retry-after` seconds: a secondary rate limit.
    SecondaryRateLimit { status: u16, retry_after: u64 },
    /// A server error with this status.
    ServerError(u16),
    /// 401 Bad credentials, whatever the token.
    Unauthorized,
}

fn owner_of(full_name: &str) -> &str {
    full_name
        .split_once('/')
        .map_or(full_name, |(owner, _)| owner)
}

fn router(world: Shared) -> Router {
    Router::new()
        .route("/github/user", get(github::user))
        .route("/github/graphql", post(graphql::graphql))
        .route(
            "/github/repos/{owner}/{repo}/branches/{branch}",
            get(repos::get_branch),
        )
        .route(
            "/github/repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches",
            post(actions::dispatch_workflow),
        )
        .route(
            "/github/repos/{owner}/{repo}/actions/runs/{id}",
            get(actions::get_run),
        )
        .route(
            "/github/repos/{owner}/{repo}/actions/jobs/{id}",
            get(actions::get_job),
        )
        .route(
            "/github/repos/{owner}/{repo}/actions/jobs/{id}/logs",
            get(actions::job_logs),
        )
        .route(
            "/blobs/job-logs/{owner}/{repo}/{id}",
            get(actions::job_log_blob),
        )
        .route(
            "/github/repos/{owner}/{repo}/check-runs/{id}/annotations",
            get(actions::annotations),
        )
        .route(
            "/github/repos/{owner}/{repo}/actions/runs/{id}/{what}",
            post(actions::rerun),
        )
        .route(
            "/github/repos/{owner}/{repo}/dispatches",
            post(actions::repository_dispatch),
        )
        .route("/hub/u/{user}/{repo}/trigger/{token}/", post(hub::trigger))
        .route(
            "/hooks/{name}",
            post(hub::webhook)
                .put(hub::webhook)
                .patch(hub::webhook)
                .get(hub::webhook),
        )
        .route("/github/repos/{owner}/{repo}", get(repos::get_repo))
        .route(
            "/github/repos/{owner}/{repo}/pulls",
            get(repos::list_pulls).post(repos::create_pull),
        )
        .route(
            "/github/repos/{owner}/{repo}/pulls/{number}",
            get(repos::get_pull),
        )
        .route(
            "/github/repos/{owner}/{repo}/pulls/{number}/reviews",
            get(repos::list_reviews),
        )
        .route(
            "/github/repos/{owner}/{repo}/pulls/{number}/merge",
            put(repos::merge_pull),
        )
        .route(
            "/github/repos/{owner}/{repo}/commits",
            get(repos::list_commits),
        )
        .route(
            "/github/repos/{owner}/{repo}/commits/{reference}/status",
            get(repos::combined_status),
        )
        .route(
            "/github/repos/{owner}/{repo}/commits/{reference}/check-runs",
            get(repos::check_runs),
        )
        .route(
            "/github/repos/{owner}/{repo}/commits/{reference}/check-suites",
            get(repos::check_suites),
        )
        .route(
            "/github/repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks",
            get(repos::required_checks),
        )
        .route(
            "/github/repos/{owner}/{repo}/rules/branches/{branch}",
            get(repos::branch_rules),
        )
        .route("/circleci/api/v2/me", get(circleci::me))
        .route(
            "/circleci/api/v2/project/{vcs}/{org}/{repo}/job/{number}",
            get(circleci::job_details),
        )
        .route(
            "/circleci/api/v1.1/project/{vcs}/{org}/{repo}/{number}",
            get(circleci::build_v1),
        )
        .route(
            "/blobs/circle-output/{number}/{index}",
            get(circleci::step_output),
        )
        .route(
            "/circleci/api/v2/workflow/{id}/rerun",
            post(circleci::rerun_workflow),
        )
        .route(
            "/circleci/api/v2/project/{vcs}/{org}/{repo}/pipeline",
            post(circleci::trigger),
        )
        .route(
            "/circleci/api/v2/pipeline/{id}/workflow",
            get(circleci::workflows),
        )
        .route(
            "/github/repos/{owner}/{repo}/statuses/{sha}",
            post(repos::create_status),
        )
        .route("/git/{owner}/{*rest}", axum::routing::any(githttp::serve))
        .route("/v2/", get(registry::base))
        .route("/token", get(registry::token))
        .fallback(unknown)
        .layer(axum::middleware::from_fn_with_state(
            world.clone(),
            github::faults,
        ))
        .layer(axum::middleware::from_fn_with_state(world.clone(), record))
        .with_state(world)
}

async fn record(
    State(world): State<Shared>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let line = match request.uri().query() {
        Some(q) if request.uri().path() == "/token" => format!("{} /token?{q}", request.method()),
        _ => format!("{} {}", request.method(), request.uri().path()),
    };
    world.lock().expect("lock").requests.push(line);
    next.run(request).await
}

async fn unknown(State(world): State<Shared>, request: Request) -> Response {
    let line = format!("{} {}", request.method(), request.uri());
    world.lock().expect("lock").unknown.push(line.clone());
    (
        StatusCode::NOT_IMPLEMENTED,
        axum::Json(json!({ "message": format!("fake services: no such route: {line}") })),
    )
        .into_response()
}

/// The token of an `Authorization: Bearer` (or GitHub's `token`) header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("token "))
        .map(str::to_string)
}
