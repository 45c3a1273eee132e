//! The app's budget of requests to GitHub: however many pull requests are
//! followed, at most [`PER_MINUTE`] requests a minute. The one on screen
//! and the armed ones keep their pace; the others share what is left,
//! taking turns spaced out so that they never come together.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Requests a minute to GitHub for the whole app (GitHub's secondary limit
/// for REST reads is 900 points a minute; a 304 still counts).
pub const PER_MINUTE: u32 = 300;

/// The share of the budget the followers plan with: the rest is room for
/// what the user asks (opening a project, a merge).
const FOLLOWERS_SHARE: f64 = 0.9;
/// The share of that the others keep however many are eager.
const OTHERS_FLOOR: f64 = 0.2;

/// What one follower asks of the budget for its next look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Demand {
    /// Requests one look makes.
    pub cost: u32,
    /// The wait its own pace calls for.
    pub wanted: Duration,
    /// Someone waits on it (an armed merge): it keeps its pace.
    pub eager: bool,
}

impl Demand {
    fn per_minute(&self) -> f64 {
        f64::from(self.cost) * 60.0 / self.wanted.as_secs_f64().max(0.001)
    }
}

/// The budget shared by every follower of a front end.
#[derive(Debug, Clone)]
pub struct Budget {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    per_minute: f64,
    demands: HashMap<PathBuf, Demand>,
    shown: Option<PathBuf>,
    /// When the last of the others' looks is due.
    cursor: Instant,
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new(PER_MINUTE)
    }
}

impl Budget {
    /// A budget of `per_minute` requests a minute.
    pub fn new(per_minute: u32) -> Self {
        Budget {
            inner: Arc::new(Mutex::new(Inner {
                per_minute: f64::from(per_minute.max(1)) * FOLLOWERS_SHARE,
                demands: HashMap::new(),
                shown: None,
                cursor: Instant::now(),
            })),
        }
    }

    /// `key` is on screen: it keeps its pace (and the one shown before
    /// does not any more).
    pub fn show(&self, key: &Path) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.shown = Some(key.to_path_buf());
        }
    }

    /// `key` follows nothing any more.
    pub fn leave(&self, key: &Path) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.demands.remove(key);
        }
    }

    /// The wait before `key`'s next look.
    pub fn next(&self, key: &Path, demand: Demand) -> Duration {
        let Ok(mut inner) = self.inner.lock() else {
            return demand.wanted;
        };
        let demand = Demand {
            eager: demand.eager || inner.shown.as_deref() == Some(key),
            ..demand
        };
        inner.demands.insert(key.to_path_buf(), demand);
        let shares = inner.shares();
        if demand.eager {
            return demand.wanted.mul_f64(shares.eager_factor);
        }
        if !shares.others_over {
            return demand.wanted;
        }
        // Over budget: the others' looks are spaced by what each costs of
        // their share, one after the other.
        let now = Instant::now();
        let spacing = Duration::from_secs_f64(f64::from(demand.cost) * 60.0 / shares.others);
        let due = (now + demand.wanted).max(inner.cursor + spacing);
        inner.cursor = due;
        due - now
    }
}

/// How the budget is split at the moment.
struct Shares {
    /// What the eager ones' waits are multiplied by (1 within budget).
    eager_factor: f64,
    /// Requests a minute left to the others.
    others: f64,
    /// Whether the others want more than that.
    others_over: bool,
}

impl Inner {
    fn shares(&self) -> Shares {
        let (eager, others) = self
            .demands
            .values()
            .fold((0.0, 0.0), |(e, o), d| match d.eager {
                true => (e + d.per_minute(), o),
                false => (e, o + d.per_minute()),
            });
        let budget = self.per_minute;
        let others_share = match others > 0.0 {
            true => f64::min(others, f64::max(budget - eager, budget * OTHERS_FLOOR)),
            false => 0.0,
        };
        let eager_share = budget - others_share;
        Shares {
            eager_factor: match eager > eager_share && eager > 0.0 {
                true => eager / eager_share.max(1.0),
                false => 1.0,
            },
            others: others_share.max(1.0),
            others_over: others > others_share,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: Duration = Duration::from_secs(2);

    fn running(eager: bool) -> Demand {
        Demand {
            cost: 4,
            wanted: FAST,
            eager,
        }
    }

    fn key(n: usize) -> PathBuf {
        PathBuf::from(format!("/projects/{n}"))
    }

    /// Requests sent in `minutes` when each of `count` followers looks when
    /// the budget says, the first `eager` of them eager; and the longest
    /// gap between two looks of the first one.
    async fn simulate(
        budget: &Budget,
        count: usize,
        eager: usize,
        minutes: u64,
    ) -> (u32, Duration) {
        let start = Instant::now();
        let mut due: Vec<Instant> = vec![start; count];
        let mut sent = 0;
        let mut first_gap = Duration::ZERO;
        let mut first_last = start;
        let end = start + Duration::from_secs(60 * minutes);
        loop {
            let (n, at) = due
                .iter()
                .copied()
                .enumerate()
                .min_by_key(|(_, at)| *at)
                .unwrap_or((0, end));
            if at >= end {
                break;
            }
            tokio::time::advance(at.saturating_duration_since(Instant::now())).await;
            sent += 4;
            if n == 0 {
                first_gap = first_gap.max(at - first_last);
                first_last = at;
            }
            due[n] = Instant::now() + budget.next(&key(n), running(n < eager));
        }
        (sent, first_gap)
    }

    #[tokio::test(start_paused = true)]
    async fn ten_running_pull_requests_stay_within_the_budget_and_the_shown_one_keeps_its_pace() {
        let budget = Budget::default();
        budget.show(&key(0));
        let (sent, gap) = simulate(&budget, 10, 0, 10).await;
        let per_minute = f64::from(sent) / 10.0;
        assert!(
            per_minute <= f64::from(PER_MINUTE) + 4.0,
            "{per_minute} a minute"
        );
        assert!(
            per_minute >= 240.0,
            "the budget is used: {per_minute} a minute"
        );
        assert_eq!(gap, FAST, "the one on screen keeps its pace");
    }

    #[tokio::test(start_paused = true)]
    async fn many_armed_ones_share_the_budget_too() {
        let budget = Budget::default();
        let (sent, gap) = simulate(&budget, 10, 6, 10).await;
        let per_minute = f64::from(sent) / 10.0;
        assert!(
            per_minute <= f64::from(PER_MINUTE) + 4.0,
            "{per_minute} a minute"
        );
        assert!(gap > FAST, "six armed ones cannot all look every 2 s");
        assert!(gap <= Duration::from_secs(8), "but they stay fast: {gap:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn within_the_budget_nobody_slows_down() {
        let budget = Budget::default();
        let (sent, _) = simulate(&budget, 2, 0, 1).await;
        assert_eq!(sent, 2 * 4 * 30, "two followers at their own pace");
    }

    #[tokio::test(start_paused = true)]
    async fn the_others_take_turns() {
        let budget = Budget::default();
        budget.show(&key(0));
        for n in 0..10 {
            budget.next(&key(n), running(false));
        }
        let mut waits: Vec<Duration> = (1..10)
            .map(|n| budget.next(&key(n), running(false)))
            .collect();
        waits.sort();
        let closest = waits
            .windows(2)
            .map(|w| w[1] - w[0])
            .min()
            .unwrap_or_default();
        assert!(
            closest >= Duration::from_secs(1),
            "two of the others look together: {waits:?}"
        );
    }
}
