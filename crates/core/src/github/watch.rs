//! Watching a commit's checks without spending the rate limit: every read
//! is conditional on the ETag of the last answer, so a poll that finds
//! nothing new is a row of free 304s, and the interval follows what is
//! happening (seconds while checks run, longer once they are done, and
//! GitHub's reset time when the limit is spent).

use std::collections::HashMap;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::checks::{
    CheckRun, CheckRunsPage, CheckState, CheckSuitesPage, ChecksRollup, CombinedStatus,
    Expectations, rollup,
};
use super::pulls::{PullRequest, PullState};
use super::reviews::{ReviewBody, Reviews, fold, reviews_path};
use super::{Fetched, GithubClient, GithubError, GithubRepo};

/// How often to look while checks run: a look that finds nothing new is
/// free, so a change shows within seconds.
pub const WHILE_RUNNING: Duration = Duration::from_secs(2);
/// How often to look once they are done (a re-run or a new push may come).
pub const WHEN_IDLE: Duration = Duration::from_secs(120);

/// The checks of one commit, re-read with conditional requests.
#[derive(Debug)]
pub struct ChecksWatch {
    repo: GithubRepo,
    sha: String,
    expect: Expectations,
    /// Last answer of each URL read: its ETag, its body, its next page.
    cache: HashMap<String, (String, Value, Option<String>)>,
    last: Option<ChecksRollup>,
    /// Requests the last poll made.
    reads: u32,
}

impl ChecksWatch {
    /// Watches `sha`'s checks, with what its branch expects of it.
    pub fn new(repo: GithubRepo, sha: &str, expect: Expectations) -> Self {
        ChecksWatch {
            repo,
            sha: sha.to_string(),
            expect,
            cache: HashMap::new(),
            last: None,
            reads: 0,
        }
    }

    /// Reads the checks again; `Some` with the new rollup when anything
    /// changed since the last poll (always on the first).
    pub async fn poll(
        &mut self,
        client: &GithubClient,
    ) -> Result<Option<ChecksRollup>, GithubError> {
        let base = format!(
            "/repos/{}/{}/commits/{}",
            self.repo.owner, self.repo.name, self.sha
        );
        self.reads = 0;
        let status: CombinedStatus = self.read(client, &format!("{base}/status")).await?;
        let mut runs: Vec<CheckRun> = Vec::new();
        let mut next = Some(format!("{base}/check-runs?per_page=100"));
        while let Some(url) = next.take() {
            let (page, more): (CheckRunsPage, _) = self.read_page(client, &url).await?;
            runs.extend(page.check_runs);
            next = more;
        }
        let suites: CheckSuitesPage = self
            .read(client, &format!("{base}/check-suites?per_page=100"))
            .await?;
        let fresh = rollup(
            &self.sha,
            &self
                .expect
                .input(Some(&status), &runs, &suites.check_suites),
        );
        if self.last.as_ref() == Some(&fresh) {
            return Ok(None);
        }
        self.last = Some(fresh.clone());
        Ok(Some(fresh))
    }

    /// Requests the last poll made (a 304 counts: GitHub's secondary
    /// limit charges it).
    pub fn reads(&self) -> u32 {
        self.reads
    }

    /// How long to wait before the next poll.
    pub fn interval(&self, client: &GithubClient) -> Duration {
        let reset = client.until_reset();
        if !reset.is_zero() {
            return reset;
        }
        match self.last.as_ref().map(|r| r.state) {
            Some(CheckState::Success | CheckState::Failure) => WHEN_IDLE,
            _ => WHILE_RUNNING,
        }
    }

    async fn read<T: DeserializeOwned>(
        &mut self,
        client: &GithubClient,
        url: &str,
    ) -> Result<T, GithubError> {
        Ok(self.read_page(client, url).await?.0)
    }

    /// One URL's body (the cached one on a 304) and its next page.
    async fn read_page<T: DeserializeOwned>(
        &mut self,
        client: &GithubClient,
        url: &str,
    ) -> Result<(T, Option<String>), GithubError> {
        let etag = self.cache.get(url).map(|(tag, _, _)| tag.clone());
        self.reads += 1;
        let (value, next) = match client.get_json::<Value>(url, etag.as_deref()).await? {
            Fetched::Unchanged => match self.cache.get(url) {
                Some((_, value, next)) => (value.clone(), next.clone()),
                None => return Err(stale(url)),
            },
            Fetched::Changed { value, etag, next } => {
                if let Some(tag) = etag {
                    self.cache
                        .insert(url.to_string(), (tag, value.clone(), next.clone()));
                }
                (value, next)
            }
        };
        let parsed = serde_json::from_value(value).map_err(|e| GithubError::Unavailable {
            url: url.to_string(),
            detail: format!("the answer is not what GitHub sends: {e}"),
            hint: "Check the GitHub API URL (settings or SLIPWAY_GITHUB_API_URL).".into(),
        })?;
        Ok((parsed, next))
    }
}

/// What a look at a watched pull request found new.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PullUpdate {
    /// The pull request, when it changed (new head, merged, closed, title).
    pub pull: Option<PullRequest>,
    /// Its head's checks, when they changed.
    pub checks: Option<ChecksRollup>,
    /// Its reviews, when they changed.
    pub reviews: Option<Reviews>,
}

/// A pull request and its head's checks, re-read with conditional
/// requests; a new head starts a new checks watch.
#[derive(Debug)]
pub struct PullWatch {
    repo: GithubRepo,
    pull: PullRequest,
    etag: Option<String>,
    expect: Expectations,
    checks: ChecksWatch,
    /// The reviews as last read, their ETag and their fold.
    reviews: (Vec<ReviewBody>, Option<String>, Option<Reviews>),
    reads: u32,
}

impl PullWatch {
    /// Watches `pull`, with what its base branch expects of its head.
    pub fn new(repo: GithubRepo, pull: PullRequest, expect: Expectations) -> Self {
        let checks = ChecksWatch::new(repo.clone(), &pull.head_sha, expect.clone());
        PullWatch {
            repo,
            pull,
            etag: None,
            expect,
            checks,
            reviews: (Vec::new(), None, None),
            reads: 0,
        }
    }

    /// The pull request as last read.
    pub fn pull(&self) -> &PullRequest {
        &self.pull
    }

    /// Reads the pull request and, while it is open, its head's checks.
    pub async fn poll(&mut self, client: &GithubClient) -> Result<PullUpdate, GithubError> {
        let url = format!(
            "/repos/{}/{}/pulls/{}",
            self.repo.owner, self.repo.name, self.pull.number
        );
        let mut update = PullUpdate::default();
        self.reads = 1;
        if let Fetched::Changed { value, etag, .. } =
            client.get_json::<Value>(&url, self.etag.as_deref()).await?
        {
            let fresh: PullRequest = super::pulls::parse_pull(value, &url)?;
            if fresh.head_sha != self.pull.head_sha {
                self.checks =
                    ChecksWatch::new(self.repo.clone(), &fresh.head_sha, self.expect.clone());
            }
            self.etag = etag;
            // `mergeable` flips while GitHub works; only what the user sees counts.
            let mut seen = fresh.clone();
            seen.mergeable = self.pull.mergeable;
            if seen != self.pull {
                update.pull = Some(fresh.clone());
            }
            self.pull = fresh;
        }
        if self.pull.state == PullState::Open {
            let checks = self.checks.poll(client).await;
            self.reads += self.checks.reads();
            update.checks = checks?;
            update.reviews = self.poll_reviews(client, update.pull.is_some()).await?;
        }
        Ok(update)
    }

    /// Reads the reviews again (a free 304 while none comes); folds them
    /// when they or the pull request changed.
    async fn poll_reviews(
        &mut self,
        client: &GithubClient,
        pull_changed: bool,
    ) -> Result<Option<Reviews>, GithubError> {
        let path = reviews_path(&self.repo, self.pull.number);
        self.reads += 1;
        let fresh = match client
            .get_json::<Vec<ReviewBody>>(&path, self.reviews.1.as_deref())
            .await?
        {
            Fetched::Changed { value, etag, .. } => {
                self.reviews.0 = value;
                self.reviews.1 = etag;
                true
            }
            Fetched::Unchanged if self.reviews.1.is_none() => return Err(stale(&path)),
            Fetched::Unchanged => false,
        };
        if !fresh && !pull_changed && self.reviews.2.is_some() {
            return Ok(None);
        }
        self.reads += 1;
        let extras = client.review_extras(&self.repo, self.pull.number).await;
        let folded = fold(
            &self.reviews.0,
            &self.pull.requested_reviewers,
            self.expect.approvals,
            extras,
        );
        if self.reviews.2.as_ref() == Some(&folded) {
            return Ok(None);
        }
        self.reviews.2 = Some(folded.clone());
        Ok(Some(folded))
    }

    /// Requests the last look made.
    pub fn reads(&self) -> u32 {
        self.reads
    }

    /// How long to wait before the next look.
    pub fn interval(&self, client: &GithubClient) -> Duration {
        self.checks.interval(client)
    }
}

fn stale(url: &str) -> GithubError {
    GithubError::Unavailable {
        url: url.to_string(),
        detail: "GitHub answered 304 to a request that named no ETag".into(),
        hint: "Try again.".into(),
    }
}
