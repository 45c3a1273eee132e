//! The GitHub flow for a project folder, shared by the CLI and the window:
//! which repository and branch it is on, the pull request for that branch,
//! pushing and opening one, its checks, and merging it. Joins the folder's
//! git state ([`crate::git`]), the signed-in account ([`crate::accounts`])
//! and the GitHub client ([`crate::github`]); [`armed`] keeps the pull
//! requests armed to merge when green.

pub mod armed;
pub mod budget;
pub mod follow;
pub mod follower;
pub mod list;
mod merge;
pub mod publish;
pub mod why;

use std::path::{Path, PathBuf};

use crate::accounts::AccountStore;
use crate::git::BranchStatus;
use crate::github::checks::{ChecksRollup, Expectations};
use crate::github::pulls::{NewPull, PullRequest, RepoInfo};
use crate::github::reviews::Reviews;
use crate::github::{GithubClient, GithubRepo};
use crate::{ErrorCode, Problem};

/// A project folder on GitHub, ready for the flow.
#[derive(Debug, Clone)]
pub struct Project {
    /// The repository's folder.
    pub root: PathBuf,
    /// The repository on GitHub `origin` names.
    pub repo: GithubRepo,
    /// The client of the account signed in to its host.
    pub client: GithubClient,
    /// The branch checked out and where it stands.
    pub branch: BranchStatus,
    /// The repository's default branch and settings, from GitHub.
    pub info: RepoInfo,
}

impl Project {
    /// Reads `dir`'s git state and its repository on GitHub.
    pub async fn open(dir: &Path, accounts: &AccountStore) -> Result<Self, Problem> {
        let root = crate::project::check_folder(dir)?;
        let branch = crate::git::status(&root).await?;
        let remote = crate::git::remote_url(&root).await.ok_or_else(|| {
            Problem::new(
                ErrorCode::BadConfig,
                format!("{} has no `origin` remote", root.display()),
            )
            .with_hint("Add the GitHub repository: `git remote add origin https://github.com/OWNER/NAME.git`.")
        })?;
        let repo = GithubRepo::from_remote(&remote, &accounts.github_hosts()).ok_or_else(|| {
            Problem::new(
                ErrorCode::BadConfig,
                format!("origin ({remote}) is not a GitHub repository Slipway knows"),
            )
            .with_hint("For GitHub Enterprise, sign in to its host first.")
        })?;
        let client = accounts.github_client(&repo.host).await?;
        let info = client.repository(&repo).await?;
        Ok(Project {
            root,
            repo,
            client,
            branch,
            info,
        })
    }

    /// [`Project::open`] with the user's accounts.
    pub async fn open_default(dir: &Path) -> Result<Self, Problem> {
        let accounts = AccountStore::open_default()?;
        Self::open(dir, &accounts).await
    }

    /// Whether the folder has a pipeline to run before a push (a
    /// Dockerfile or a `slipway.toml`).
    pub fn has_pipeline(&self) -> bool {
        self.root.join("Dockerfile").is_file() || self.root.join(crate::config::FILE_NAME).is_file()
    }

    /// The checked-out branch, or why there is none to work with.
    pub fn feature_branch(&self) -> Result<&str, Problem> {
        let branch = self.branch.branch.as_deref().ok_or_else(|| {
            Problem::new(ErrorCode::BadConfig, "HEAD is detached: no branch to push")
                .with_hint("Switch to a branch: `git switch -c feature/NAME`.")
        })?;
        if branch == self.info.default_branch {
            return Err(Problem::new(
                ErrorCode::BadConfig,
                format!("you are on the default branch, {branch}"),
            )
            .with_hint(
                "Create a feature branch for the change first: `git switch -c feature/NAME`.",
            ));
        }
        Ok(branch)
    }

    /// The open pull request for the checked-out branch, if any.
    pub async fn pull_request(&self) -> Result<Option<PullRequest>, Problem> {
        let Some(branch) = self.branch.branch.as_deref() else {
            return Ok(None);
        };
        Ok(self.client.open_pull_for(&self.repo, branch).await?)
    }

    /// The open pull request for the branch, or a problem saying how to open one.
    pub async fn require_pull_request(&self) -> Result<PullRequest, Problem> {
        self.pull_request().await?.ok_or_else(|| {
            Problem::new(
                ErrorCode::NotFound,
                format!(
                    "no open pull request for {}",
                    self.branch.branch.as_deref().unwrap_or("this branch")
                ),
            )
            .with_hint("Open one with `slipway pr open`.")
        })
    }

    /// A commit's checks, with what `branch` expects of it, read with the
    /// follower's policy (a server error is tried again).
    pub async fn commit_checks(&self, sha: &str, branch: &str) -> Result<ChecksRollup, Problem> {
        let expect = self.expectations(branch, sha).await?;
        follower::read_checks(&self.client, &self.repo, sha, expect).await
    }

    /// What `branch` expects of commit `sha` (see
    /// [`GithubClient::expectations`](crate::github::GithubClient::expectations)),
    /// read with the follower's policy.
    pub async fn expectations(&self, branch: &str, sha: &str) -> Result<Expectations, Problem> {
        let client = &self.client;
        Ok(follower::retrying(client, async || {
            client.expectations(&self.repo, branch, sha).await
        })
        .await?)
    }

    /// A pull request's checks (with what its base expects) and its
    /// reviews (with the approvals its base requires), each read with the
    /// follower's policy.
    pub async fn pull_status(
        &self,
        pull: &PullRequest,
    ) -> Result<(ChecksRollup, Reviews), Problem> {
        let expect = self.expectations(&pull.base_ref, &pull.head_sha).await?;
        let approvals = expect.approvals;
        let checks =
            follower::read_checks(&self.client, &self.repo, &pull.head_sha, expect).await?;
        let client = &self.client;
        let reviews = follower::retrying(client, async || {
            client.reviews(&self.repo, pull, approvals).await
        })
        .await?;
        Ok((checks, reviews))
    }

    /// A pull request's checks, with its base branch's required ones.
    pub async fn checks(&self, pull: &PullRequest) -> Result<ChecksRollup, Problem> {
        self.commit_checks(&pull.head_sha, &pull.base_ref).await
    }

    /// A title and body for a new pull request from the branch's commits:
    /// the one commit's subject and body, or the branch's name and a list.
    pub async fn prefill(&self, base: &str) -> (String, String) {
        let branch = self.branch.branch.clone().unwrap_or_default();
        let range = format!("origin/{base}..HEAD");
        let log = crate::git::run(&self.root, &["log", "--format=%s%x1f%b%x1e", &range])
            .await
            .unwrap_or_default();
        let commits: Vec<(String, String)> = log
            .split('\u{1e}')
            .filter_map(|c| {
                let (subject, body) = c.trim().split_once('\u{1f}')?;
                Some((subject.trim().to_string(), body.trim().to_string()))
            })
            .filter(|(s, _)| !s.is_empty())
            .collect();
        match commits.as_slice() {
            [(subject, body)] => (subject.clone(), body.clone()),
            [] => (branch_title(&branch), String::new()),
            many => (
                branch_title(&branch),
                many.iter()
                    .rev()
                    .map(|(s, _)| format!("- {s}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        }
    }

    /// After a merge: switches to the default branch, brought up to date,
    /// and deletes `merged` (branch, the head its pull request merged) when
    /// its tip is still that head. `true` when it was deleted.
    pub async fn switch_to_default(&self, merged: Option<(&str, &str)>) -> Result<bool, Problem> {
        crate::git::switch_to_default(&self.root, "origin", &self.info.default_branch, merged)
            .await
            .map_err(|e| e.problem())
    }

    /// Opens a pull request for the branch (already pushed), or returns the
    /// open one; `true` when it was just opened.
    pub async fn open_pull_request(
        &self,
        base: Option<&str>,
        title: Option<String>,
        body: Option<String>,
        draft: bool,
    ) -> Result<(PullRequest, bool), Problem> {
        let head = self.feature_branch()?.to_string();
        if let Some(open) = self.pull_request().await? {
            return Ok((open, false));
        }
        let base = base.unwrap_or(&self.info.default_branch).to_string();
        let (default_title, default_body) = self.prefill(&base).await;
        let new = NewPull {
            title: title.unwrap_or(default_title),
            body: body.unwrap_or(default_body),
            head,
            base,
            draft,
        };
        Ok((self.client.create_pull(&self.repo, &new).await?, true))
    }
}

/// `feature/list-cities` → "List cities".
fn branch_title(branch: &str) -> String {
    let last = branch.rsplit('/').next().unwrap_or(branch);
    let words = last.replace(['-', '_'], " ");
    let mut chars = words.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => branch.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_branch_name_makes_a_title() {
        assert_eq!(super::branch_title("feature/list-cities"), "List cities");
        assert_eq!(super::branch_title("fix_login"), "Fix login");
    }
}
