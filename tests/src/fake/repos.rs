//! The fake GitHub's repositories: each one a bare git repository on disk
//! that `git push` reaches, so branches, commits and merges are real; with
//! pull requests, commit statuses, check runs and suites, and branch
//! protection kept beside it. Answers carry GitHub's payloads (from
//! `tests/contracts`), ETags (a 304 is not charged), `Link` pagination and
//! `Location` on creation.

// An error here is the answer, sent at once: its size does not matter.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::github::github_headers;
use super::http::{etag, link, not_modified};
use super::{Shared, World};

const REPO: &str = include_str!("../../contracts/github/get_repo.json");
const REVIEWS: &str = include_str!("../../contracts/github/list_reviews_for_pull_request.json");
const COMMITS: &str = include_str!("../../contracts/github/list_commits.json");
const PULL: &str = include_str!("../../contracts/github/get_pull_request.json");
const BRANCH: &str = include_str!("../../contracts/github/get_branch.json");
const MERGED: &str = include_str!("../../contracts/github/merge_pull_request.json");
const STATUS: &str = include_str!("../../contracts/github/create_commit_status.json");
const NOT_MERGEABLE: &str = include_str!("../../contracts/github/merge_pull_request.405.json");
const HEAD_MODIFIED: &str = include_str!("../../contracts/github/merge_pull_request.409.json");

/// One repository of the fake GitHub.
#[derive(Debug)]
pub struct FakeRepo {
    pub default_branch: String,
    /// The bare repository pushes reach.
    pub bare: PathBuf,
    pub pulls: Vec<Pull>,
    /// Commit statuses, oldest first: (sha, status JSON).
    pub statuses: Vec<(String, Value)>,
    /// Check runs, oldest first.
    pub check_runs: Vec<Value>,
    /// Check suites by id.
    pub suites: Vec<Value>,
    /// Required status checks of protected branches.
    pub protection: HashMap<String, Vec<String>>,
    /// Required status checks that rulesets put on branches.
    pub rulesets: HashMap<String, Vec<String>>,
    /// Approving reviews that rulesets require of pull requests into branches.
    pub approvals: HashMap<String, u32>,
    /// How many more reads of a pull request answer `mergeable: null`.
    pub mergeable_unknown: u32,
    /// A status the next merge answers with instead of merging (405, 409).
    pub merge_fault: Option<u16>,
    /// Whether pull requests may use GitHub's auto-merge.
    pub allow_auto_merge: bool,
    /// Workflow runs that dispatches started.
    pub workflow_runs: Vec<super::actions::WorkflowRun>,
    /// Actions jobs, re-runs last.
    pub jobs: Vec<super::actions::ActionsJob>,
    /// Re-runs asked: `RUN/rerun` or `RUN/rerun-failed-jobs`.
    pub reruns: Vec<String>,
    /// How dispatched runs conclude ("success" unless a test says).
    pub workflow_conclusion: String,
    /// `repository_dispatch` events received.
    pub dispatches: Vec<Value>,
}

/// A pull request.
#[derive(Debug, Clone)]
pub struct Pull {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub head: String,
    pub base: String,
    pub draft: bool,
    pub state: &'static str,
    pub merged: bool,
    pub merge_sha: Option<String>,
    /// GitHub's auto-merge, on with this method (`MERGE`, `SQUASH`, `REBASE`).
    pub auto_merge: Option<String>,
    /// Reviews given, oldest first: (reviewer, state).
    pub reviews: Vec<(String, String)>,
    /// Reviewers asked who have not reviewed since.
    pub requested: Vec<String>,
    /// Its review threads: whether each is resolved.
    pub threads: Vec<bool>,
}

/// Runs git in `dir`, returning its trimmed output, or `None` on failure.
pub fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=GitHub",
            "-c",
            "user.email=noreply@github.com",
        ])
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl FakeRepo {
    /// A new empty bare repository under `root`.
    pub fn create(root: &Path, owner: &str, name: &str, default_branch: &str) -> Self {
        let bare = root.join(owner).join(format!("{name}.git"));
        std::fs::create_dir_all(&bare).expect("mkdir");
        git(&bare, &["init", "-q", "--bare", "-b", default_branch]).expect("git init --bare");
        FakeRepo {
            default_branch: default_branch.into(),
            bare,
            pulls: Vec::new(),
            statuses: Vec::new(),
            check_runs: Vec::new(),
            suites: Vec::new(),
            protection: HashMap::new(),
            rulesets: HashMap::new(),
            approvals: HashMap::new(),
            mergeable_unknown: 0,
            merge_fault: None,
            allow_auto_merge: false,
            workflow_runs: Vec::new(),
            jobs: Vec::new(),
            reruns: Vec::new(),
            workflow_conclusion: "success".into(),
            dispatches: Vec::new(),
        }
    }

    /// The latest status of each context posted for `sha`.
    fn latest_statuses(&self, sha: &str) -> Vec<&Value> {
        let mut latest: Vec<&Value> = Vec::new();
        for (_, status) in self.statuses.iter().rev().filter(|(s, _)| s == sha) {
            if !latest.iter().any(|l| l["context"] == status["context"]) {
                latest.push(status);
            }
        }
        latest
    }

    /// Whether the check `name` passed on `sha` (a status or a check run).
    pub fn passed(&self, sha: &str, name: &str) -> bool {
        self.latest_statuses(sha)
            .iter()
            .any(|s| s["context"] == name && s["state"] == "success")
            || self
                .check_runs
                .iter()
                .any(|r| r["head_sha"] == sha && r["name"] == name && r["conclusion"] == "success")
    }

    /// Whether `sha` passes everything `base` requires: its latest status of
    /// each context and its check runs all succeeded (at least one of
    /// them), and every required check is among them.
    pub fn green(&self, sha: &str, base: &str) -> bool {
        let latest = self.latest_statuses(sha);
        let runs: Vec<&Value> = self
            .check_runs
            .iter()
            .filter(|r| r["head_sha"] == sha)
            .collect();
        (!latest.is_empty() || !runs.is_empty())
            && latest.iter().all(|s| s["state"] == "success")
            && runs.iter().all(|r| {
                r["status"] == "completed"
                    && ["success", "neutral", "skipped"]
                        .iter()
                        .any(|c| r["conclusion"] == *c)
            })
            && self.required(base).iter().all(|c| self.passed(sha, c))
    }

    /// The checks `branch` requires, by its protection and its rulesets.
    pub fn required(&self, branch: &str) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for c in self
            .protection
            .get(branch)
            .into_iter()
            .chain(self.rulesets.get(branch))
            .flatten()
        {
            if !all.contains(c) {
                all.push(c.clone());
            }
        }
        all
    }

    /// Merges, as GitHub's auto-merge does, each open pull request with
    /// auto-merge on whose head is green.
    /// How many more approving reviews the rules of `pull`'s base ask
    /// for, or `None` when it has them (a request for changes blocks too).
    pub fn approvals_missing(&self, pull: &Pull) -> Option<u32> {
        let required = self.approvals.get(&pull.base).copied().unwrap_or(0);
        let latest = latest_reviews(pull);
        let approvals = latest.iter().filter(|(_, s)| *s == "APPROVED").count() as u32;
        let blocked = required > 0 && latest.iter().any(|(_, s)| *s == "CHANGES_REQUESTED");
        (approvals < required || blocked).then(|| required.saturating_sub(approvals).max(1))
    }

    pub fn auto_merge(&mut self, owner: &str) {
        for index in 0..self.pulls.len() {
            let pull = self.pulls[index].clone();
            let Some(method) = pull.auto_merge.as_deref().filter(|_| pull.state == "open") else {
                continue;
            };
            let Some(head) = self.resolve(&pull.head) else {
                continue;
            };
            if !self.green(&head, &pull.base) || self.approvals_missing(&pull).is_some() {
                continue;
            }
            let method = method.to_lowercase();
            let title = match method.as_str() {
                "squash" => format!("{} (#{})", pull.title, pull.number),
                _ => format!(
                    "Merge pull request #{} from {owner}/{}",
                    pull.number, pull.head
                ),
            };
            if let Some(sha) = merge_in_bare(&self.bare, &pull.base, &pull.head, &method, &title) {
                let pull = &mut self.pulls[index];
                pull.state = "closed";
                pull.merged = true;
                pull.merge_sha = Some(sha);
                pull.auto_merge = None;
            }
        }
    }

    /// Whether `head` merges into `base` without conflicts, as GitHub's
    /// `mergeable` says.
    pub fn merges_cleanly(&self, base: &str, head: &str) -> bool {
        git(&self.bare, &["merge-tree", "--write-tree", base, head]).is_some()
    }

    /// The commit a branch or SHA names, when it exists.
    pub fn resolve(&self, reference: &str) -> Option<String> {
        git(
            &self.bare,
            &[
                "rev-parse",
                "--verify",
                "-q",
                &format!("{reference}^{{commit}}"),
            ],
        )
    }
}

/// Each reviewer's latest review that is not a comment: (login, state).
pub fn latest_reviews(pull: &Pull) -> Vec<(&str, &str)> {
    let mut latest: Vec<(&str, &str)> = Vec::new();
    for (login, state) in &pull.reviews {
        if state != "COMMENTED" {
            latest.retain(|(l, _)| l != login);
            latest.push((login, state));
        }
    }
    latest
}

/// A pull request's GraphQL id.
pub fn node_id(owner: &str, name: &str, number: u64) -> String {
    format!("PR_{owner}_{name}_{number}")
}

/// `owner/name` to the repository, or GitHub's 404.
fn find<'a>(world: &'a mut World, owner: &str, name: &str) -> Result<&'a mut FakeRepo, Response> {
    let key = format!("{owner}/{name}");
    match world.repos.get_mut(&key) {
        Some(repo) => Ok(repo),
        None => Err(not_found(
            "https://docs.github.com/rest/repos/repos#get-a-repository",
        )),
    }
}

/// The repository and the commit `reference` names in it, or GitHub's 404.
fn find_commit<'a>(
    world: &'a mut World,
    owner: &str,
    name: &str,
    reference: &str,
    docs: &str,
) -> Result<(&'a mut FakeRepo, String), Response> {
    let repo = find(world, owner, name)?;
    match repo.resolve(reference) {
        Some(sha) => Ok((repo, sha)),
        None => Err(not_found(docs)),
    }
}

fn not_found(docs: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({ "message": "Not Found", "documentation_url": docs, "status": "404" })),
    )
        .into_response()
}

fn unprocessable(resource: &str, field: &str, code: &str, message: Option<&str>) -> Response {
    let mut error = json!({ "resource": resource, "field": field, "code": code });
    if let Some(m) = message {
        error["message"] = json!(m);
    }
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::Json(json!({
            "message": "Validation Failed",
            "errors": [error],
            "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
            "status": "422"
        })),
    )
        .into_response()
}

/// A JSON answer with an ETag; a matching `If-None-Match` gets a free 304.
fn conditional(world: &mut World, request: &HeaderMap, value: &Value) -> Response {
    let mut headers = github_headers(world);
    let text = value.to_string();
    let tag = etag(text.as_bytes());
    headers.insert("etag", HeaderValue::from_str(&tag).expect("etag"));
    if not_modified(request, &tag) {
        world.rate.refund();
        world.rate.headers(&mut headers);
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (StatusCode::OK, headers, text).into_response()
}

/// A conditional read of repository `owner/name`: `value` computes the
/// answer from it (or answers with an error), under the lock; an unknown
/// repository gets GitHub's 404.
fn read_repo(
    world: &Shared,
    owner: &str,
    name: &str,
    request: &HeaderMap,
    value: impl FnOnce(&mut FakeRepo) -> Result<Value, Response>,
) -> Response {
    let mut world = world.lock().expect("lock");
    let value = match find(&mut world, owner, name).and_then(value) {
        Ok(value) => value,
        Err(e) => return e,
    };
    conditional(&mut world, request, &value)
}

fn repo_json(world_url: &str, owner: &str, name: &str, repo: &FakeRepo) -> Value {
    let mut v: Value = serde_json::from_str(REPO).expect("contract");
    v["name"] = json!(name);
    v["full_name"] = json!(format!("{owner}/{name}"));
    v["owner"]["login"] = json!(owner);
    v["default_branch"] = json!(repo.default_branch);
    v["html_url"] = json!(format!("https://github.com/{owner}/{name}"));
    v["url"] = json!(format!("{world_url}/repos/{owner}/{name}"));
    v["allow_auto_merge"] = json!(repo.allow_auto_merge);
    v
}

fn pull_json(owner: &str, name: &str, repo: &FakeRepo, pull: &Pull, mergeable: Value) -> Value {
    let mut v: Value = serde_json::from_str(PULL).expect("contract");
    let head_sha = repo.resolve(&pull.head).unwrap_or_default();
    let base_sha = repo.resolve(&pull.base).unwrap_or_default();
    v["number"] = json!(pull.number);
    v["node_id"] = json!(node_id(owner, name, pull.number));
    v["auto_merge"] = match &pull.auto_merge {
        Some(method) => json!({
            "enabled_by": { "login": owner },
            "merge_method": method.to_lowercase(),
            "commit_title": null, "commit_message": null,
        }),
        None => Value::Null,
    };
    v["title"] = json!(pull.title);
    v["body"] = json!(pull.body);
    v["state"] = json!(pull.state);
    v["draft"] = json!(pull.draft);
    v["merged"] = json!(pull.merged);
    v["mergeable"] = mergeable;
    v["merge_commit_sha"] = json!(pull.merge_sha);
    let mut asked = v["requested_reviewers"][0].clone();
    v["requested_reviewers"] = json!(
        pull.requested
            .iter()
            .map(|login| {
                asked["login"] = json!(login);
                asked.clone()
            })
            .collect::<Vec<_>>()
    );
    v["user"]["login"] = json!(owner);
    v["html_url"] = json!(format!(
        "https://github.com/{owner}/{name}/pull/{}",
        pull.number
    ));
    v["head"]["ref"] = json!(pull.head);
    v["head"]["sha"] = json!(head_sha);
    v["head"]["label"] = json!(format!("{owner}:{}", pull.head));
    v["base"]["ref"] = json!(pull.base);
    v["base"]["sha"] = json!(base_sha);
    v["base"]["label"] = json!(format!("{owner}:{}", pull.base));
    v["head"]["repo"]["full_name"] = json!(format!("{owner}/{name}"));
    v["base"]["repo"]["full_name"] = json!(format!("{owner}/{name}"));
    v
}

type RepoPath = UrlPath<(String, String)>;

/// `GET /repos/{owner}/{repo}`.
pub(super) async fn get_repo(
    State(world): State<Shared>,
    UrlPath((owner, name)): RepoPath,
    request: HeaderMap,
) -> Response {
    let mut world = world.lock().expect("lock");
    let api = world.api_url.clone();
    let value = match find(&mut world, &owner, &name) {
        Ok(repo) => repo_json(&api, &owner, &name, repo),
        Err(e) => return e,
    };
    conditional(&mut world, &request, &value)
}

/// `GET /repos/{owner}/{repo}/branches/{branch}`: the branch and its tip.
pub(super) async fn get_branch(
    State(world): State<Shared>,
    UrlPath((owner, name, branch)): UrlPath<(String, String, String)>,
    request: HeaderMap,
) -> Response {
    read_repo(&world, &owner, &name, &request, |repo| {
        let Some(sha) = repo.resolve(&format!("refs/heads/{branch}")) else {
            return Err(not_found(
                "https://docs.github.com/rest/branches/branches#get-a-branch",
            ));
        };
        let contexts = repo.protection.get(&branch).cloned();
        let mut v: Value = serde_json::from_str(BRANCH).expect("contract");
        v["name"] = json!(branch);
        v["commit"]["sha"] = json!(sha);
        v["protected"] = json!(contexts.is_some());
        // Readable with contents access: the required checks, not the rest.
        let contexts = contexts.unwrap_or_default();
        let checks: Vec<Value> = contexts
            .iter()
            .map(|c| json!({ "context": c, "app_id": null }))
            .collect();
        v["protection"] = json!({
            "enabled": !contexts.is_empty(),
            "required_status_checks": {
                "enforcement_level": if contexts.is_empty() { "off" } else { "non_admins" },
                "contexts": contexts,
                "checks": checks,
            }
        });
        Ok(v)
    })
}

#[derive(Debug, Deserialize)]
pub(super) struct PullQuery {
    state: Option<String>,
    head: Option<String>,
    base: Option<String>,
}

/// `GET /repos/{owner}/{repo}/pulls`.
pub(super) async fn list_pulls(
    State(world): State<Shared>,
    UrlPath((owner, name)): RepoPath,
    Query(query): Query<PullQuery>,
    request: HeaderMap,
) -> Response {
    read_repo(&world, &owner, &name, &request, |repo| {
        let state = query.state.as_deref().unwrap_or("open");
        let pulls: Vec<Value> = repo
            .pulls
            .iter()
            .rev()
            .filter(|p| state == "all" || p.state == state)
            .filter(|p| {
                query
                    .head
                    .as_deref()
                    .is_none_or(|h| h.split_once(':').map_or(h, |(_, b)| b) == p.head)
            })
            .filter(|p| query.base.as_deref().is_none_or(|b| b == p.base))
            .map(|p| pull_json(&owner, &name, repo, p, Value::Null))
            .collect();
        Ok(Value::Array(pulls))
    })
}

#[derive(Debug, Deserialize)]
pub(super) struct NewPull {
    title: Option<String>,
    body: Option<String>,
    head: Option<String>,
    base: Option<String>,
    #[serde(default)]
    draft: bool,
}

/// `POST /repos/{owner}/{repo}/pulls`.
pub(super) async fn create_pull(
    State(world): State<Shared>,
    UrlPath((owner, name)): RepoPath,
    axum::Json(new): axum::Json<NewPull>,
) -> Response {
    let mut world = world.lock().expect("lock");
    let mut headers = github_headers(&mut world);
    let api = world.api_url.clone();
    let repo = match find(&mut world, &owner, &name) {
        Ok(repo) => repo,
        Err(e) => return e,
    };
    let (Some(head), Some(base)) = (new.head, new.base) else {
        return unprocessable("PullRequest", "head", "missing_field", None);
    };
    let head = head
        .split_once(':')
        .map_or(head.clone(), |(_, b)| b.to_string());
    if repo.resolve(&head).is_none() {
        return unprocessable("PullRequest", "head", "invalid", None);
    }
    if repo.resolve(&base).is_none() {
        return unprocessable("PullRequest", "base", "invalid", None);
    }
    if repo.resolve(&head) == repo.resolve(&base) {
        return unprocessable(
            "PullRequest",
            "",
            "custom",
            Some(&format!("No commits between {base} and {head}")),
        );
    }
    if let Some(open) = repo
        .pulls
        .iter()
        .find(|p| p.head == head && p.state == "open")
    {
        return unprocessable(
            "PullRequest",
            "",
            "custom",
            Some(&format!(
                "A pull request already exists for {owner}:{} (#{}).",
                head, open.number
            )),
        );
    }
    let number = repo.pulls.len() as u64 + 1;
    let pull = Pull {
        number,
        title: new.title.unwrap_or_else(|| head.clone()),
        body: new.body.unwrap_or_default(),
        head,
        base,
        draft: new.draft,
        state: "open",
        merged: false,
        merge_sha: None,
        auto_merge: None,
        reviews: Vec::new(),
        requested: Vec::new(),
        threads: Vec::new(),
    };
    let value = pull_json(&owner, &name, repo, &pull, Value::Null);
    repo.pulls.push(pull);
    headers.insert(
        "location",
        HeaderValue::from_str(&format!("{api}/repos/{owner}/{name}/pulls/{number}"))
            .expect("location"),
    );
    (StatusCode::CREATED, headers, value.to_string()).into_response()
}

/// `GET /repos/{owner}/{repo}/pulls/{number}`.
pub(super) async fn get_pull(
    State(world): State<Shared>,
    UrlPath((owner, name, number)): UrlPath<(String, String, u64)>,
    request: HeaderMap,
) -> Response {
    read_repo(&world, &owner, &name, &request, |repo| {
        let Some(pull) = repo.pulls.iter().find(|p| p.number == number).cloned() else {
            return Err(not_found(
                "https://docs.github.com/rest/pulls/pulls#get-a-pull-request",
            ));
        };
        let mergeable = if pull.state != "open" {
            Value::Null
        } else if repo.mergeable_unknown > 0 {
            repo.mergeable_unknown -= 1;
            Value::Null
        } else {
            json!(repo.merges_cleanly(&pull.base, &pull.head))
        };
        let mut value = pull_json(&owner, &name, repo, &pull, mergeable.clone());
        value["mergeable_state"] = match mergeable {
            Value::Bool(false) => json!("dirty"),
            Value::Bool(true) => json!("clean"),
            _ => json!("unknown"),
        };
        Ok(value)
    })
}

#[derive(Debug, Deserialize)]
pub(super) struct MergeRequest {
    sha: Option<String>,
    merge_method: Option<String>,
    commit_title: Option<String>,
}

/// `PUT /repos/{owner}/{repo}/pulls/{number}/merge`: merges in the bare
/// repository for real.
pub(super) async fn merge_pull(
    State(world): State<Shared>,
    UrlPath((owner, name, number)): UrlPath<(String, String, u64)>,
    axum::Json(merge): axum::Json<MergeRequest>,
) -> Response {
    let mut world = world.lock().expect("lock");
    let headers = github_headers(&mut world);
    let repo = match find(&mut world, &owner, &name) {
        Ok(repo) => repo,
        Err(e) => return e,
    };
    let Some(index) = repo.pulls.iter().position(|p| p.number == number) else {
        return not_found("https://docs.github.com/rest/pulls/pulls#merge-a-pull-request");
    };
    let pull = repo.pulls[index].clone();
    let answer = |status: StatusCode, body: &str| {
        (status, headers.clone(), body.to_string()).into_response()
    };
    match repo.merge_fault.take() {
        Some(405) => return answer(StatusCode::METHOD_NOT_ALLOWED, NOT_MERGEABLE),
        Some(409) => return answer(StatusCode::CONFLICT, HEAD_MODIFIED),
        _ => {}
    }
    if pull.state != "open" {
        return answer(StatusCode::METHOD_NOT_ALLOWED, NOT_MERGEABLE);
    }
    let head_sha = repo.resolve(&pull.head).unwrap_or_default();
    if merge.sha.as_deref().is_some_and(|sha| sha != head_sha) {
        return answer(StatusCode::CONFLICT, HEAD_MODIFIED);
    }
    // As GitHub refuses: a draft, and a head its base's rules do not pass.
    let refuse = |message: String| {
        let body = json!({
            "message": message,
            "documentation_url": "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request",
            "status": "405"
        });
        answer(StatusCode::METHOD_NOT_ALLOWED, &body.to_string())
    };
    if pull.draft {
        return refuse("Pull Request is still a draft".into());
    }
    if let Some(missing) = repo
        .required(&pull.base)
        .into_iter()
        .find(|c| !repo.passed(&head_sha, c))
    {
        return refuse(format!("Required status check \"{missing}\" is expected."));
    }
    if let Some(missing) = repo.approvals_missing(&pull) {
        return refuse(format!(
            "At least {missing} approving review{} required by reviewers with write access.",
            if missing == 1 { " is" } else { "s are" }
        ));
    }
    let method = merge.merge_method.unwrap_or_else(|| "merge".into());
    let title = merge.commit_title.unwrap_or_else(|| match method.as_str() {
        // GitHub titles a squash after the pull request.
        "squash" => format!("{} (#{number})", pull.title),
        _ => format!("Merge pull request #{number} from {owner}/{}", pull.head),
    });
    let Some(sha) = merge_in_bare(&repo.bare, &pull.base, &pull.head, &method, &title) else {
        return answer(StatusCode::METHOD_NOT_ALLOWED, NOT_MERGEABLE);
    };
    let pull = &mut repo.pulls[index];
    pull.state = "closed";
    pull.merged = true;
    pull.merge_sha = Some(sha.clone());
    let mut body: Value = serde_json::from_str(MERGED).expect("contract");
    body["sha"] = json!(sha);
    (StatusCode::OK, headers, body.to_string()).into_response()
}

/// Merges `head` into `base` in a scratch clone and pushes the result back.
fn merge_in_bare(bare: &Path, base: &str, head: &str, method: &str, title: &str) -> Option<String> {
    let scratch = tempfile::tempdir().ok()?;
    let work = scratch.path().join("w");
    let work_str = work.to_str()?;
    git(
        scratch.path(),
        &["clone", "-q", "-b", base, bare.to_str()?, work_str],
    )?;
    git(&work, &["fetch", "-q", "origin", head])?;
    match method {
        "squash" => {
            git(&work, &["merge", "-q", "--squash", "FETCH_HEAD"])?;
            git(&work, &["commit", "-q", "-m", title])?;
        }
        "rebase" => {
            git(&work, &["checkout", "-q", "-B", "rebasing", "FETCH_HEAD"])?;
            git(&work, &["rebase", "-q", base])?;
            git(&work, &["checkout", "-q", base])?;
            git(&work, &["merge", "-q", "--ff-only", "rebasing"])?;
        }
        _ => {
            git(
                &work,
                &["merge", "-q", "--no-ff", "-m", title, "FETCH_HEAD"],
            )?;
        }
    }
    git(&work, &["push", "-q", "origin", base])?;
    git(&work, &["rev-parse", "HEAD"])
}

#[derive(Debug, Deserialize)]
pub(super) struct Page {
    per_page: Option<usize>,
    page: Option<usize>,
}

/// The query of `GET /repos/{owner}/{repo}/commits`.
#[derive(Deserialize)]
pub(super) struct CommitsQuery {
    sha: Option<String>,
    per_page: Option<usize>,
}

/// `GET /repos/{owner}/{repo}/commits`: a branch's (or commit's) history,
/// newest first; 409 for an empty repository, 404 for an unknown ref.
pub(super) async fn list_commits(
    State(world): State<Shared>,
    UrlPath((owner, name)): UrlPath<(String, String)>,
    Query(query): Query<CommitsQuery>,
    request: HeaderMap,
) -> Response {
    read_repo(&world, &owner, &name, &request, |repo| {
        let from = query.sha.unwrap_or_else(|| repo.default_branch.clone());
        if git(&repo.bare, &["rev-parse", "-q", "--verify", "HEAD"]).is_none()
            && git(&repo.bare, &["for-each-ref", "--count=1"]).is_some_and(|r| r.is_empty())
        {
            return Err((
                StatusCode::CONFLICT,
                axum::Json(json!({
                    "message": "Git Repository is empty.",
                    "documentation_url": "https://docs.github.com/rest/commits/commits#list-commits",
                    "status": "409"
                })),
            )
                .into_response());
        }
        let Some(tip) = repo.resolve(&from) else {
            return Err(not_found(
                "https://docs.github.com/rest/commits/commits#list-commits",
            ));
        };
        let count = query.per_page.unwrap_or(30).clamp(1, 100).to_string();
        let log =
            git(&repo.bare, &["log", "--format=%H %P", "-n", &count, &tip]).unwrap_or_default();
        let template: Vec<Value> = serde_json::from_str(COMMITS).expect("contract");
        let items: Vec<Value> = log
            .lines()
            .map(|line| {
                let mut shas = line.split_whitespace();
                let sha = shas.next().unwrap_or_default();
                let mut item = template[0].clone();
                item["sha"] = json!(sha);
                item["html_url"] = json!(format!("https://github.com/{owner}/{name}/commit/{sha}"));
                item["parents"] = json!(shas.map(|p| json!({ "sha": p })).collect::<Vec<_>>());
                item
            })
            .collect();
        Ok(json!(items))
    })
}

/// `GET /repos/{owner}/{repo}/commits/{ref}/status`.
pub(super) async fn combined_status(
    State(world): State<Shared>,
    UrlPath((owner, name, reference)): UrlPath<(String, String, String)>,
    request: HeaderMap,
) -> Response {
    let mut world = world.lock().expect("lock");
    let (repo, sha) = match find_commit(
        &mut world,
        &owner,
        &name,
        &reference,
        "https://docs.github.com/rest/commits/statuses",
    ) {
        Ok(found) => found,
        Err(e) => return e,
    };
    // The latest status of each context, newest first.
    let mut latest: Vec<Value> = Vec::new();
    for (_, status) in repo.statuses.iter().rev().filter(|(s, _)| *s == sha) {
        if !latest.iter().any(|l| l["context"] == status["context"]) {
            latest.push(status.clone());
        }
    }
    let state = if latest
        .iter()
        .any(|s| s["state"] == "error" || s["state"] == "failure")
    {
        "failure"
    } else if latest.is_empty() || latest.iter().any(|s| s["state"] == "pending") {
        "pending"
    } else {
        "success"
    };
    let value = json!({
        "state": state,
        "statuses": latest,
        "sha": sha,
        "total_count": latest.len(),
        "repository": { "full_name": format!("{owner}/{name}") },
    });
    conditional(&mut world, &request, &value)
}

/// `POST /repos/{owner}/{repo}/statuses/{sha}`: a commit status, as
/// GitHub keeps it (a description over 140 characters is refused).
pub(super) async fn create_status(
    State(world): State<Shared>,
    UrlPath((owner, name, sha)): UrlPath<(String, String, String)>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut world = world.lock().expect("lock");
    let mut headers = github_headers(&mut world);
    let repo = match find(&mut world, &owner, &name) {
        Ok(repo) => repo,
        Err(e) => return e,
    };
    let state = body["state"].as_str().unwrap_or_default().to_string();
    let description = body["description"].as_str().unwrap_or_default();
    if !["error", "failure", "pending", "success"].contains(&state.as_str())
        || description.chars().count() > 140
        || repo.resolve(&sha).as_deref() != Some(sha.as_str())
    {
        headers.remove("etag");
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            headers,
            include_str!("../../contracts/github/error.422.validation_failed.recorded.json"),
        )
            .into_response();
    }
    let id = repo.statuses.len() as u64 + 1;
    let mut status: Value = serde_json::from_str(STATUS).expect("contract");
    status["id"] = json!(id);
    status["state"] = json!(state);
    status["context"] = json!(body["context"].as_str().unwrap_or("default"));
    status["description"] = json!(description);
    status["target_url"] = body["target_url"].clone();
    status["updated_at"] = json!(format!("2026-12-01T11:{:02}:{:02}Z", id / 60 % 60, id % 60));
    repo.statuses.push((sha.clone(), status.clone()));
    repo.auto_merge(&owner);
    (StatusCode::CREATED, headers, status.to_string()).into_response()
}

/// `GET /repos/{owner}/{repo}/commits/{ref}/check-runs`, paginated.
pub(super) async fn check_runs(
    State(world): State<Shared>,
    UrlPath((owner, name, reference)): UrlPath<(String, String, String)>,
    Query(page): Query<Page>,
    request: HeaderMap,
) -> Response {
    let mut world = world.lock().expect("lock");
    let api = world.api_url.clone();
    let (repo, sha) = match find_commit(
        &mut world,
        &owner,
        &name,
        &reference,
        "https://docs.github.com/rest/checks/runs",
    ) {
        Ok(found) => found,
        Err(e) => return e,
    };
    let all: Vec<&Value> = repo
        .check_runs
        .iter()
        .filter(|r| r["head_sha"] == sha.as_str())
        .collect();
    let per_page = page.per_page.unwrap_or(30).clamp(1, 100);
    let number = page.page.unwrap_or(1).max(1);
    let runs: Vec<Value> = all
        .iter()
        .skip((number - 1) * per_page)
        .take(per_page)
        .map(|r| (*r).clone())
        .collect();
    let value = json!({ "total_count": all.len(), "check_runs": runs });
    let next = link(
        &format!("{api}/repos/{owner}/{name}/commits/{reference}/check-runs"),
        number,
        per_page,
        all.len(),
    );
    let mut response = conditional(&mut world, &request, &value);
    if let Some(next) = next {
        response
            .headers_mut()
            .insert("link", HeaderValue::from_str(&next).expect("link"));
    }
    response
}

/// `GET /repos/{owner}/{repo}/commits/{ref}/check-suites`.
pub(super) async fn check_suites(
    State(world): State<Shared>,
    UrlPath((owner, name, reference)): UrlPath<(String, String, String)>,
    request: HeaderMap,
) -> Response {
    let mut world = world.lock().expect("lock");
    let (repo, sha) = match find_commit(
        &mut world,
        &owner,
        &name,
        &reference,
        "https://docs.github.com/rest/checks/suites",
    ) {
        Ok(found) => found,
        Err(e) => return e,
    };
    let suites: Vec<Value> = repo
        .suites
        .iter()
        .filter(|s| s["head_sha"] == sha.as_str())
        .cloned()
        .collect();
    let value = json!({ "total_count": suites.len(), "check_suites": suites });
    conditional(&mut world, &request, &value)
}

/// `GET /repos/{owner}/{repo}/rules/branches/{branch}`: the active rules on
/// a branch; its rulesets' required status checks.
pub(super) async fn branch_rules(
    State(world): State<Shared>,
    UrlPath((owner, name, branch)): UrlPath<(String, String, String)>,
    request: HeaderMap,
) -> Response {
    read_repo(&world, &owner, &name, &request, |repo| {
        let reviews = repo.approvals.get(&branch).map(|count| {
            json!({
                "type": "pull_request",
                "ruleset_source_type": "Repository",
                "ruleset_source": format!("{owner}/{name}"),
                "ruleset_id": 43,
                "parameters": {
                    "dismiss_stale_reviews_on_push": false,
                    "require_code_owner_review": false,
                    "require_last_push_approval": false,
                    "required_approving_review_count": count,
                    "required_review_thread_resolution": false
                }
            })
        });
        let rules: Vec<Value> = repo
            .rulesets
            .get(&branch)
            .map(|contexts| {
                let checks: Vec<Value> = contexts
                    .iter()
                    .map(|c| json!({ "context": c, "integration_id": null }))
                    .collect();
                vec![json!({
                    "type": "required_status_checks",
                    "ruleset_source_type": "Repository",
                    "ruleset_source": format!("{owner}/{name}"),
                    "ruleset_id": 42,
                    "parameters": {
                        "required_status_checks": checks,
                        "strict_required_status_checks_policy": false
                    }
                })]
            })
            .unwrap_or_default()
            .into_iter()
            .chain(reviews)
            .collect();
        Ok(json!(rules))
    })
}

/// `GET /repos/{owner}/{repo}/pulls/{number}/reviews`.
pub(super) async fn list_reviews(
    State(world): State<Shared>,
    UrlPath((owner, name, number)): UrlPath<(String, String, u64)>,
    request: HeaderMap,
) -> Response {
    read_repo(&world, &owner, &name, &request, |repo| {
        let Some(pull) = repo.pulls.iter().find(|p| p.number == number) else {
            return Err(not_found(
                "https://docs.github.com/rest/pulls/reviews#list-reviews-for-a-pull-request",
            ));
        };
        let head = repo.resolve(&pull.head).unwrap_or_default();
        let template: Vec<Value> = serde_json::from_str(REVIEWS).expect("contract");
        let reviews: Vec<Value> = pull
            .reviews
            .iter()
            .enumerate()
            .map(|(i, (login, state))| {
                let mut review = template[0].clone();
                review["id"] = json!(80 + i);
                review["user"]["login"] = json!(login);
                review["state"] = json!(state);
                review["commit_id"] = json!(head);
                review
            })
            .collect();
        Ok(json!(reviews))
    })
}

/// `GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks`.
pub(super) async fn required_checks(
    State(world): State<Shared>,
    UrlPath((owner, name, branch)): UrlPath<(String, String, String)>,
    request: HeaderMap,
) -> Response {
    let mut world = world.lock().expect("lock");
    // GitHub reserves branch protection for the repository's admins.
    let token = request
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_whitespace().last())
        .unwrap_or_default()
        .to_string();
    if !world.github_admins.contains(&token) {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(json!({
                "message": "Resource not accessible by personal access token",
                "documentation_url": "https://docs.github.com/rest/branches/branch-protection#get-status-checks-protection",
                "status": "403"
            })),
        )
            .into_response();
    }
    let repo = match find(&mut world, &owner, &name) {
        Ok(repo) => repo,
        Err(e) => return e,
    };
    let Some(contexts) = repo.protection.get(&branch).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({
                "message": "Branch not protected",
                "documentation_url": "https://docs.github.com/rest/reference/repos#get-branch-protection"
            })),
        )
            .into_response();
    };
    let checks: Vec<Value> = contexts
        .iter()
        .map(|c| json!({ "context": c, "app_id": null }))
        .collect();
    let value = json!({ "strict": false, "contexts": contexts, "checks": checks });
    conditional(&mut world, &request, &value)
}
