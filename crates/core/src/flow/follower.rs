//! The one policy for following GitHub while something changes, shared by
//! `pr status`, `pr watch`, merge when green, the window's watcher, the
//! deploy gate and deploy after merge: conditional reads (an unchanged
//! answer is a free 304), the pace the checks call for, backing off while
//! GitHub is down or limited and back to pace at its first good answer,
//! and stopping when cancelled.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::Problem;
use crate::github::checks::{CheckState, ChecksRollup, Expectations};
use crate::github::watch::{ChecksWatch, WHILE_RUNNING};
use crate::github::{GithubClient, GithubError, GithubRepo};

/// The first wait after GitHub could not be reached; it doubles while it
/// stays unreachable, up to [`SHORT_OUTAGE_STEP`] during a short outage
/// and [`OUTAGE_MAX`] after.
pub const OUTAGE_FIRST: Duration = Duration::from_secs(2);
/// The longest wait between looks while GitHub is down.
pub const OUTAGE_MAX: Duration = Duration::from_secs(60);
/// An outage this young is short: looks stay close together, so what
/// changed meanwhile shows soon after GitHub answers again.
pub const SHORT_OUTAGE: Duration = Duration::from_secs(60);
/// The longest wait between looks during a short outage.
pub const SHORT_OUTAGE_STEP: Duration = Duration::from_secs(3);

/// What a follower tells besides what it follows.
#[derive(Debug, Clone, PartialEq)]
pub enum FollowNote {
    /// GitHub could not be read; the follower keeps going and looks again
    /// after `retry_in`. Told once per outage.
    Outage {
        /// What GitHub answered (or that it did not).
        problem: Problem,
        /// When the next look is.
        retry_in: Duration,
    },
    /// GitHub answers again after an outage.
    Back,
}

/// Why a follow ended without what it waited for.
#[derive(Debug, Clone, PartialEq)]
pub enum Stopped {
    /// Its cancellation token fired (Ctrl-C, the window closed the project).
    Cancelled,
    /// GitHub said something no wait will change (a revoked token, a
    /// repository gone).
    Failed(Problem),
}

impl From<Problem> for Stopped {
    fn from(p: Problem) -> Self {
        Stopped::Failed(p)
    }
}

/// The pace between looks: the caller's while GitHub answers, backing off
/// while it does not.
#[derive(Debug, Default, Clone)]
pub struct Pace {
    outage: Option<Outage>,
}

/// An outage under way: since when, and the last wait.
#[derive(Debug, Clone, Copy)]
struct Outage {
    since: tokio::time::Instant,
    wait: Duration,
}

/// What to do after a look that failed.
#[derive(Debug, Clone, PartialEq)]
pub enum AfterFailure {
    /// Look again after this wait; `tell` on the first failure of an outage.
    Retry {
        /// How long to wait.
        wait: Duration,
        /// Whether this failure starts the outage (tell the user once).
        tell: bool,
    },
    /// Nothing a wait will change: stop.
    Stop,
}

impl Pace {
    /// A look succeeded; `true` when it ends an outage.
    pub fn answered(&mut self) -> bool {
        self.outage.take().is_some()
    }

    /// Whether GitHub is unreachable as far as the last look knows.
    pub fn in_outage(&self) -> bool {
        self.outage.is_some()
    }

    /// A look failed with `error`.
    pub fn failed(&mut self, error: &GithubError, client: &GithubClient) -> AfterFailure {
        let since = self
            .outage
            .map_or_else(tokio::time::Instant::now, |o| o.since);
        let wait = match error {
            GithubError::Unavailable { .. } => match self.outage {
                None => OUTAGE_FIRST,
                Some(o) if since.elapsed() < SHORT_OUTAGE => (o.wait * 2).min(SHORT_OUTAGE_STEP),
                Some(o) => (o.wait * 2).min(OUTAGE_MAX),
            },
            GithubError::RateLimited { .. } => error
                .retry_in()
                .unwrap_or_else(|| client.until_reset())
                .max(OUTAGE_FIRST),
            _ => return AfterFailure::Stop,
        };
        let tell = self.outage.is_none();
        self.outage = Some(Outage { since, wait });
        AfterFailure::Retry { wait, tell }
    }
}

/// Waits `wait`, or until `cancel` fires; `false` when cancelled.
pub async fn pause(wait: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(wait) => true,
        _ = cancel.cancelled() => false,
    }
}

/// What following a commit's checks tells.
#[derive(Debug, Clone, PartialEq)]
pub enum ChecksNews<'a> {
    /// The checks changed (always told on the first look).
    Changed(&'a ChecksRollup),
    /// GitHub went away or came back.
    Note(FollowNote),
}

/// Follows `sha`'s checks (with what its branch expects) until `done` says so of
/// a rollup, the token fires, or GitHub says something no wait changes.
/// `on_news` hears each new rollup, outage and recovery.
pub async fn follow_checks(
    client: &GithubClient,
    repo: &GithubRepo,
    sha: &str,
    expect: Expectations,
    cancel: &CancellationToken,
    mut on_news: impl FnMut(ChecksNews<'_>),
    mut done: impl FnMut(&ChecksRollup) -> bool,
) -> Result<ChecksRollup, Stopped> {
    let mut watch = ChecksWatch::new(repo.clone(), sha, expect);
    let mut pace = Pace::default();
    let mut last: Option<ChecksRollup> = None;
    loop {
        if cancel.is_cancelled() {
            return Err(Stopped::Cancelled);
        }
        let wait = match watch.poll(client).await {
            Ok(fresh) => {
                if pace.answered() {
                    on_news(ChecksNews::Note(FollowNote::Back));
                }
                if let Some(rollup) = fresh {
                    on_news(ChecksNews::Changed(&rollup));
                    last = Some(rollup);
                }
                if let Some(rollup) = last.as_ref().filter(|r| done(r)) {
                    return Ok(rollup.clone());
                }
                watch.interval(client)
            }
            Err(error) => match pace.failed(&error, client) {
                AfterFailure::Retry { wait, tell } => {
                    if tell {
                        on_news(ChecksNews::Note(FollowNote::Outage {
                            problem: error.problem(),
                            retry_in: wait,
                        }));
                    }
                    wait
                }
                AfterFailure::Stop => return Err(Stopped::Failed(error.problem())),
            },
        };
        if !pause(wait, cancel).await {
            return Err(Stopped::Cancelled);
        }
    }
}

/// The longest secondary rate limit a read waits out; a longer one is told.
pub const SECONDARY_WAIT_MAX: Duration = Duration::from_secs(60);

/// At most this many tries of one read while GitHub is down.
pub const READ_TRIES: u32 = 3;
/// Within this long.
pub const READ_WITHIN: Duration = Duration::from_secs(10);

/// The tries of one idempotent read under the follower's policy for a
/// one-off look: a server error or a reset connection is tried again, at
/// most [`READ_TRIES`] times within [`READ_WITHIN`].
#[derive(Debug)]
struct Tries {
    pace: Pace,
    started: tokio::time::Instant,
    tries: u32,
}

impl Tries {
    fn new() -> Self {
        Tries {
            pace: Pace::default(),
            started: tokio::time::Instant::now(),
            tries: 0,
        }
    }

    /// After a failed try: how long to wait before the next, if one is due.
    fn again(&mut self, error: &GithubError, client: &GithubClient) -> Option<Duration> {
        self.tries += 1;
        // A secondary limit that asks for a short wait is waited out, and said.
        if let GithubError::RateLimited {
            secondary: true, ..
        } = error
            && let Some(wait) = error.retry_in().filter(|w| *w <= SECONDARY_WAIT_MAX)
            && self.tries < READ_TRIES
        {
            tracing::warn!(
                "GitHub's secondary rate limit asks to wait {}; waiting",
                crate::duration::roughly(wait)
            );
            return Some(wait);
        }
        let left = READ_WITHIN.saturating_sub(self.started.elapsed());
        match self.pace.failed(error, client) {
            AfterFailure::Retry { wait, .. }
                if self.tries < READ_TRIES
                    && matches!(error, GithubError::Unavailable { .. })
                    && wait < left =>
            {
                tracing::debug!(
                    tries = self.tries,
                    ?wait,
                    "GitHub did not answer; trying again"
                );
                Some(jitter(wait))
            }
            _ => None,
        }
    }
}

/// An idempotent read of GitHub, tried again as [`Tries`] says; then the
/// error says what GitHub answered.
pub async fn retrying<T, F, Fut>(client: &GithubClient, mut read: F) -> Result<T, GithubError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, GithubError>>,
{
    let mut tries = Tries::new();
    loop {
        match read().await {
            Ok(value) => return Ok(value),
            Err(error) => match tries.again(&error, client) {
                Some(wait) => tokio::time::sleep(wait).await,
                None => return Err(error),
            },
        }
    }
}

/// Reads `sha`'s checks once (`pr status`, the deploy gate), tried again
/// as [`Tries`] says.
pub async fn read_checks(
    client: &GithubClient,
    repo: &GithubRepo,
    sha: &str,
    expect: Expectations,
) -> Result<ChecksRollup, Problem> {
    let mut watch = ChecksWatch::new(repo.clone(), sha, expect);
    let mut tries = Tries::new();
    loop {
        match watch.poll(client).await {
            Ok(Some(rollup)) => return Ok(rollup),
            Ok(None) => {
                return Err(Problem::new(
                    crate::ErrorCode::ServiceUnavailable,
                    "GitHub answered a first read as unchanged",
                ));
            }
            Err(error) => match tries.again(&error, client) {
                Some(wait) => tokio::time::sleep(wait).await,
                None => return Err(error.problem()),
            },
        }
    }
}

/// `wait`, give or take a fifth, so that many readers do not come back
/// at the same instant.
fn jitter(wait: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let fifth = wait / 5;
    let spread = fifth.as_nanos().max(1) as u64 * 2;
    wait - fifth + Duration::from_nanos(u64::from(nanos) % spread)
}

/// Whether a rollup is finished: green or red, not pending.
pub fn finished(rollup: &ChecksRollup) -> bool {
    rollup.state != CheckState::Pending
}

/// The pace for something a user waits on (an armed merge, the pull
/// request on screen): never slower than while checks run.
pub fn eager(interval: Duration) -> Duration {
    interval.min(WHILE_RUNNING)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;

    fn down() -> GithubError {
        GithubError::Unavailable {
            url: "/repos/o/r/pulls/1".into(),
            detail: "GitHub answered 502 Bad Gateway".into(),
            hint: String::new(),
        }
    }

    fn client() -> GithubClient {
        GithubClient::build("github.com", "http://127.0.0.1:9", &Secret::new("ghp_x")).unwrap()
    }

    /// Fails one look and lets its wait pass; the wait.
    async fn fail(pace: &mut Pace, client: &GithubClient) -> Duration {
        match pace.failed(&down(), client) {
            AfterFailure::Retry { wait, .. } => {
                tokio::time::advance(wait).await;
                wait
            }
            AfterFailure::Stop => panic!("an outage stopped the follower"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_outage_keeps_looks_close_and_a_long_one_backs_off() {
        let client = client();
        let mut pace = Pace::default();
        let mut waits = Vec::new();
        let start = tokio::time::Instant::now();
        while start.elapsed() < SHORT_OUTAGE {
            waits.push(fail(&mut pace, &client).await);
        }
        assert_eq!(waits[0], OUTAGE_FIRST);
        assert!(
            waits.iter().all(|w| *w <= SHORT_OUTAGE_STEP),
            "a look waited longer than {SHORT_OUTAGE_STEP:?} in a short outage: {waits:?}"
        );
        // Told once, at the start.
        assert!(matches!(
            pace.failed(&down(), &client),
            AfterFailure::Retry { tell: false, .. }
        ));
        let mut last = Duration::ZERO;
        for _ in 0..6 {
            last = fail(&mut pace, &client).await;
        }
        assert_eq!(
            last, OUTAGE_MAX,
            "a long outage backs off to the longest wait"
        );
        assert!(pace.answered(), "the first answer ends the outage");
        assert!(!pace.in_outage());
        assert_eq!(
            fail(&mut pace, &client).await,
            OUTAGE_FIRST,
            "a new outage starts over"
        );
    }
}
