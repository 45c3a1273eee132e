//! A repository's pull requests on GitHub: find the one for a branch, open
//! one, read its checks, merge it. Outcomes the front ends act on (a moved
//! head, not mergeable yet) are data, not errors.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::checks::{
    CheckRun, CheckRunsPage, CheckSuitesPage, ChecksRollup, CombinedStatus, Expectations, rollup,
};

/// How many of a branch's latest commits say which checks to expect.
const RECENT_COMMITS: usize = 3;
use super::{GithubClient, GithubError, GithubRepo};

/// What Slipway needs to know of a repository.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoInfo {
    /// The branch pull requests go into (`master`, `main`).
    pub default_branch: String,
    /// Whether GitHub's own auto-merge may be used.
    #[serde(default)]
    pub allow_auto_merge: bool,
}

/// A pull request's state.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PullState {
    /// Open.
    Open,
    /// Closed without merging.
    Closed,
    /// Merged.
    Merged,
}

/// A pull request as Slipway shows it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    /// Its number (`#12`).
    pub number: u64,
    /// Its title.
    pub title: String,
    /// Open, closed or merged.
    pub state: PullState,
    /// Whether it is a draft.
    pub draft: bool,
    /// The branch it brings in.
    pub head_ref: String,
    /// The commit at the head of that branch.
    pub head_sha: String,
    /// The branch it goes into.
    pub base_ref: String,
    /// Its page on GitHub.
    pub url: String,
    /// Whether GitHub can merge it; `None` while GitHub is still working it out.
    pub mergeable: Option<bool>,
    /// Its GraphQL id (for auto-merge).
    #[serde(default)]
    pub node_id: String,
    /// Whether GitHub's auto-merge is enabled for it.
    #[serde(default)]
    pub auto_merge: bool,
    /// The commit its merge made on the base branch, once merged.
    #[serde(default)]
    pub merge_sha: Option<String>,
    /// The reviewers asked for a review who have not given it yet.
    #[serde(default)]
    pub requested_reviewers: Vec<String>,
}

#[derive(Deserialize)]
struct PullBody {
    number: u64,
    #[serde(default)]
    title: String,
    state: String,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    merged: bool,
    #[serde(default)]
    merged_at: Option<String>,
    html_url: String,
    #[serde(default)]
    mergeable: Option<bool>,
    #[serde(default)]
    node_id: String,
    #[serde(default)]
    auto_merge: Option<Value>,
    #[serde(default)]
    merge_commit_sha: Option<String>,
    #[serde(default)]
    requested_reviewers: Vec<super::reviews::Login>,
    head: RefBody,
    base: RefBody,
}

#[derive(Deserialize)]
struct RefBody {
    #[serde(rename = "ref")]
    name: String,
    sha: String,
}

impl From<PullBody> for PullRequest {
    fn from(p: PullBody) -> Self {
        let state = if p.merged || (p.state == "closed" && p.merged_at.is_some()) {
            PullState::Merged
        } else if p.state == "open" {
            PullState::Open
        } else {
            PullState::Closed
        };
        PullRequest {
            number: p.number,
            title: p.title,
            state,
            draft: p.draft,
            head_ref: p.head.name,
            head_sha: p.head.sha,
            base_ref: p.base.name,
            url: p.html_url,
            mergeable: p.mergeable,
            node_id: p.node_id,
            auto_merge: p.auto_merge.is_some_and(|a| !a.is_null()),
            // GitHub fills it in for open pull requests too (a test merge).
            merge_sha: p.merge_commit_sha.filter(|_| state == PullState::Merged),
            requested_reviewers: p.requested_reviewers.into_iter().map(|u| u.login).collect(),
        }
    }
}

/// A pull request from GitHub's JSON for one.
pub(crate) fn parse_pull(value: Value, url: &str) -> Result<PullRequest, GithubError> {
    serde_json::from_value::<PullBody>(value)
        .map(PullRequest::from)
        .map_err(|e| GithubError::Unavailable {
            url: url.to_string(),
            detail: format!("the answer is not what GitHub sends: {e}"),
            hint: "Check the GitHub API URL (settings or SLIPWAY_GITHUB_API_URL).".into(),
        })
}

/// A new pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPull {
    pub title: String,
    pub body: String,
    /// The branch to bring in.
    pub head: String,
    /// The branch to merge into.
    pub base: String,
    pub draft: bool,
}

/// How to merge.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MergeMethod {
    /// A merge commit.
    #[default]
    Merge,
    /// One squashed commit.
    Squash,
    /// The commits rebased onto the base.
    Rebase,
}

impl MergeMethod {
    fn word(self) -> &'static str {
        match self {
            MergeMethod::Merge => "merge",
            MergeMethod::Squash => "squash",
            MergeMethod::Rebase => "rebase",
        }
    }
}

/// What a merge did.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum MergeOutcome {
    /// Merged; `sha` is the commit on the base branch.
    Merged { sha: String },
    /// The head moved since it was seen: nothing merged.
    HeadMoved { message: String },
    /// GitHub refuses to merge it (conflicts, failing required checks, a draft).
    NotMergeable { message: String },
}

impl GithubClient {
    /// The repository's default branch and merge settings.
    pub async fn repository(&self, repo: &GithubRepo) -> Result<RepoInfo, GithubError> {
        self.get_value(&format!("/repos/{}/{}", repo.owner, repo.name))
            .await
    }

    /// The open pull request whose head is `branch`, if any.
    pub async fn open_pull_for(
        &self,
        repo: &GithubRepo,
        branch: &str,
    ) -> Result<Option<PullRequest>, GithubError> {
        let path = format!(
            "/repos/{}/{}/pulls?state=open&head={}:{}",
            repo.owner,
            repo.name,
            repo.owner,
            encode(branch)
        );
        let pulls: Vec<PullBody> = self.get_value(&path).await?;
        Ok(pulls.into_iter().next().map(PullRequest::from))
    }

    /// The repository's open pull requests.
    pub async fn open_pulls(&self, repo: &GithubRepo) -> Result<Vec<PullRequest>, GithubError> {
        let path = format!(
            "/repos/{}/{}/pulls?state=open&per_page=100",
            repo.owner, repo.name
        );
        let pulls = self
            .get_all_pages(&path, |page: Vec<PullBody>| page)
            .await?;
        Ok(pulls.into_iter().map(PullRequest::from).collect())
    }

    /// One pull request.
    pub async fn pull(&self, repo: &GithubRepo, number: u64) -> Result<PullRequest, GithubError> {
        let body: PullBody = self
            .get_value(&format!(
                "/repos/{}/{}/pulls/{number}",
                repo.owner, repo.name
            ))
            .await?;
        Ok(body.into())
    }

    /// Opens a pull request. GitHub's validation failures (no commits
    /// between the branches, one already open) come back in its words.
    pub async fn create_pull(
        &self,
        repo: &GithubRepo,
        new: &NewPull,
    ) -> Result<PullRequest, GithubError> {
        let path = format!("/repos/{}/{}/pulls", repo.owner, repo.name);
        let body = json!({
            "title": new.title, "body": new.body, "head": new.head,
            "base": new.base, "draft": new.draft,
        });
        let answer = self
            .send(http::Method::POST, &path, Some(&body), None)
            .await?;
        if answer.status == 422 {
            return Err(GithubError::Invalid {
                message: validation_message(&answer.body),
            });
        }
        let answer = answer.success(self, &path)?;
        Ok(answer.json::<PullBody>(&path)?.into())
    }

    /// A commit's checks folded into one state, with what `branch`
    /// expects of it when it can be read.
    pub async fn checks(
        &self,
        repo: &GithubRepo,
        sha: &str,
        branch: Option<&str>,
    ) -> Result<ChecksRollup, GithubError> {
        let base = format!("/repos/{}/{}/commits/{sha}", repo.owner, repo.name);
        let status: CombinedStatus = self.get_value(&format!("{base}/status")).await?;
        let runs: Vec<CheckRun> = self
            .get_all_pages(
                &format!("{base}/check-runs?per_page=100"),
                |page: CheckRunsPage| page.check_runs,
            )
            .await?;
        let suites: CheckSuitesPage = self
            .get_value(&format!("{base}/check-suites?per_page=100"))
            .await?;
        let expect = match branch {
            Some(branch) => self.expectations(repo, branch, sha).await?,
            None => Expectations::default(),
        };
        Ok(rollup(
            sha,
            &expect.input(Some(&status), &runs, &suites.check_suites),
        ))
    }

    /// The checks `branch` requires: its protection's required status
    /// checks (`GET /branches/{b}`, readable with contents access) and its
    /// rulesets' (`GET /rules/branches/{b}`, metadata access). Never the
    /// admin-only protection endpoint; a 403 or 404 from either counts as
    /// nothing required there.
    pub async fn required_checks(
        &self,
        repo: &GithubRepo,
        branch: &str,
    ) -> Result<Vec<String>, GithubError> {
        Ok(self.branch_rules(repo, branch).await?.required)
    }

    /// What `branch` expects of a commit other than `sha`'s own: the
    /// checks its protection and rulesets require, the approvals its
    /// rulesets require, and the checks that reported on its recent
    /// commits.
    pub async fn expectations(
        &self,
        repo: &GithubRepo,
        branch: &str,
        sha: &str,
    ) -> Result<Expectations, GithubError> {
        let mut expect = self.branch_rules(repo, branch).await?;
        for name in self.recently_reported(repo, branch, sha).await? {
            if !expect.required.contains(&name) && !expect.expected.contains(&name) {
                expect.expected.push(name);
            }
        }
        Ok(expect)
    }

    /// The names of the checks that reported on `branch`'s last few
    /// commits (not `sha`). A branch GitHub does not have has none.
    async fn recently_reported(
        &self,
        repo: &GithubRepo,
        branch: &str,
        sha: &str,
    ) -> Result<Vec<String>, GithubError> {
        #[derive(Deserialize)]
        struct Listed {
            sha: String,
        }
        let (owner, name) = (&repo.owner, &repo.name);
        let commits: Vec<Listed> = match self
            .get_value(&format!(
                "/repos/{owner}/{name}/commits?sha={}&per_page={}",
                encode(branch),
                RECENT_COMMITS + 1
            ))
            .await
        {
            Ok(commits) => commits,
            // An empty repository answers 409; a missing branch 404.
            Err(GithubError::NotFound { .. }) => return Ok(Vec::new()),
            Err(GithubError::Unavailable { detail, .. }) if detail.starts_with("HTTP 409") => {
                return Ok(Vec::new());
            }
            Err(e) => return Err(e),
        };
        let mut names: Vec<String> = Vec::new();
        for commit in commits.iter().filter(|c| c.sha != sha).take(RECENT_COMMITS) {
            let base = format!("/repos/{owner}/{name}/commits/{}", commit.sha);
            let status: CombinedStatus = self.get_value(&format!("{base}/status")).await?;
            let runs: CheckRunsPage = self
                .get_value(&format!("{base}/check-runs?per_page=100"))
                .await?;
            let found = status
                .statuses
                .into_iter()
                .map(|s| s.context)
                .chain(runs.check_runs.into_iter().map(|r| r.name));
            for found in found {
                if !names.contains(&found) {
                    names.push(found);
                }
            }
        }
        Ok(names)
    }

    /// What `branch`'s protection and rulesets require (see
    /// [`GithubClient::required_checks`]); nothing expected yet.
    async fn branch_rules(
        &self,
        repo: &GithubRepo,
        branch: &str,
    ) -> Result<Expectations, GithubError> {
        #[derive(Deserialize, Default)]
        struct Branch {
            #[serde(default)]
            protection: Option<Protection>,
        }
        #[derive(Deserialize, Default)]
        struct Protection {
            #[serde(default)]
            required_status_checks: Option<Required>,
        }
        #[derive(Deserialize, Default)]
        struct Required {
            #[serde(default)]
            contexts: Vec<String>,
            #[serde(default)]
            checks: Vec<Named>,
        }
        #[derive(Deserialize)]
        struct Named {
            context: String,
        }
        #[derive(Deserialize)]
        struct Rule {
            #[serde(rename = "type")]
            kind: String,
            #[serde(default)]
            parameters: Option<RuleParameters>,
        }
        #[derive(Deserialize)]
        struct RuleParameters {
            #[serde(default)]
            required_status_checks: Vec<Named>,
            #[serde(default)]
            required_approving_review_count: u32,
        }
        let (owner, name, branch) = (&repo.owner, &repo.name, encode(branch));
        fn readable<T>(e: GithubError) -> Result<Option<T>, GithubError> {
            match e {
                GithubError::NotFound { .. } | GithubError::Rejected { .. } => Ok(None),
                e => Err(e),
            }
        }
        let protected: Option<Branch> = self
            .get_value(&format!("/repos/{owner}/{name}/branches/{branch}"))
            .await
            .map(Some)
            .or_else(readable)?;
        let rules: Vec<Rule> = self
            .get_value(&format!("/repos/{owner}/{name}/rules/branches/{branch}"))
            .await
            .map(Some)
            .or_else(readable)?
            .unwrap_or_default();
        let mut expect = Expectations::default();
        let from_protection = protected
            .and_then(|b| b.protection)
            .and_then(|p| p.required_status_checks)
            .unwrap_or_default();
        let mut from_rules = Vec::new();
        for rule in rules {
            let Some(parameters) = rule.parameters else {
                continue;
            };
            match rule.kind.as_str() {
                "required_status_checks" => from_rules.extend(parameters.required_status_checks),
                "pull_request" => {
                    expect.approvals = expect
                        .approvals
                        .max(parameters.required_approving_review_count)
                }
                _ => {}
            }
        }
        let all = from_protection
            .contexts
            .into_iter()
            .chain(from_protection.checks.into_iter().map(|n| n.context))
            .chain(from_rules.into_iter().map(|n| n.context));
        for context in all {
            if !expect.required.contains(&context) {
                expect.required.push(context);
            }
        }
        Ok(expect)
    }

    /// Merges pull request `number` if its head is still `sha`.
    pub async fn merge(
        &self,
        repo: &GithubRepo,
        number: u64,
        sha: &str,
        method: MergeMethod,
    ) -> Result<MergeOutcome, GithubError> {
        let path = format!("/repos/{}/{}/pulls/{number}/merge", repo.owner, repo.name);
        let body = json!({ "sha": sha, "merge_method": method.word() });
        let answer = self
            .send(http::Method::PUT, &path, Some(&body), None)
            .await?;
        let message = crate::http::error_message(&answer.body);
        match answer.status {
            405 => Ok(MergeOutcome::NotMergeable { message }),
            409 => Ok(MergeOutcome::HeadMoved { message }),
            422 => Ok(MergeOutcome::NotMergeable {
                message: validation_message(&answer.body),
            }),
            _ => {
                #[derive(Deserialize)]
                struct Merged {
                    sha: String,
                }
                let answer = answer.success(self, &path)?;
                Ok(MergeOutcome::Merged {
                    sha: answer.json::<Merged>(&path)?.sha,
                })
            }
        }
    }

    /// Turns GitHub's auto-merge on (for `pull`'s head as seen: GitHub
    /// refuses if it moved) or off. Only GraphQL can; GitHub's refusals
    /// (not allowed in the repository, already mergeable) come back as
    /// [`GithubError::Invalid`] in its words.
    pub async fn set_auto_merge(
        &self,
        pull: &PullRequest,
        method: Option<MergeMethod>,
    ) -> Result<(), GithubError> {
        let (query, input) = match method {
            Some(method) => (
                "mutation($input: EnablePullRequestAutoMergeInput!) { \
                 enablePullRequestAutoMerge(input: $input) { pullRequest { number } } }",
                json!({
                    "pullRequestId": pull.node_id,
                    "mergeMethod": method.word().to_uppercase(),
                    "expectedHeadOid": pull.head_sha,
                }),
            ),
            None => (
                "mutation($input: DisablePullRequestAutoMergeInput!) { \
                 disablePullRequestAutoMerge(input: $input) { pullRequest { number } } }",
                json!({ "pullRequestId": pull.node_id }),
            ),
        };
        self.graphql(query, json!({ "input": input })).await?;
        Ok(())
    }

    /// A GraphQL query or mutation; its `data`, or GitHub's errors (a 200
    /// whose body has `errors`) as [`GithubError::Invalid`] in its words.
    pub(crate) async fn graphql(
        &self,
        query: &str,
        variables: Value,
    ) -> Result<Value, GithubError> {
        let url = self.graphql_url();
        let body = json!({ "query": query, "variables": variables });
        let answer = self
            .send(http::Method::POST, &url, Some(&body), None)
            .await?
            .success(self, &url)?;
        let mut value: Value = answer.json(&url)?;
        let errors: Vec<&str> = value["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["message"].as_str())
            .collect();
        if errors.is_empty() {
            Ok(value["data"].take())
        } else {
            Err(GithubError::Invalid {
                message: errors.join("; "),
            })
        }
    }
}

/// GitHub's 422: its message and each error's own words.
pub(super) fn validation_message(body: &[u8]) -> String {
    let value: Value = serde_json::from_slice(body).unwrap_or_default();
    let details: Vec<String> = value["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            e["message"].as_str().map(str::to_string).or_else(|| {
                Some(format!(
                    "{} {}",
                    e["field"].as_str()?,
                    e["code"].as_str().unwrap_or("invalid")
                ))
            })
        })
        .collect();
    let message = value["message"].as_str().unwrap_or("Validation Failed");
    if details.is_empty() {
        message.to_string()
    } else {
        format!("{message}: {}", details.join("; "))
    }
}

/// A branch name as a URL path segment or query value.
pub(crate) fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_pull_reads() {
        let body: PullBody = serde_json::from_str(include_str!(
            "../../../../tests/contracts/github/get_pull_request.json"
        ))
        .unwrap();
        let pull = PullRequest::from(body);
        assert_eq!(pull.number, 1347);
        assert_eq!(pull.state, PullState::Open);
        assert_eq!(pull.base_ref, "master");
    }

    #[test]
    fn validation_failures_are_in_githubs_words() {
        let body = br#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"No commits between master and feature"}]}"#;
        assert_eq!(
            validation_message(body),
            "Validation Failed: No commits between master and feature"
        );
        assert_eq!(encode("feature/login"), "feature%2Flogin");
    }
}
