//! A pipeline run recorded in the history, as both front ends run it:
//! the engine connected, the runs of processes that are gone recovered,
//! the run started with its git state, and every event it reports written
//! to the history as the front end takes it. The front end only shows.

use std::path::PathBuf;

use crate::Problem;
use crate::config::Pipeline;
use crate::engine::Engine;
use crate::event::{Event, Outcome, RunEvent};
use crate::pipeline::{Events, RunHandle};
use crate::recover::Recovered;
use crate::store::{HistoryError, Writer};

/// Most events taken from the run at once.
const RECEIVE_MAX: usize = 4_096;

/// A run in progress whose events are kept in the history.
#[derive(Debug)]
pub struct RecordedRun {
    handle: Option<RunHandle>,
    events: Events,
    writer: Writer,
    /// Events shown but not yet handed to the history.
    unrecorded: Vec<RunEvent>,
    finished: Option<(Outcome, u64)>,
    /// What recovery found of earlier runs, for the front end to say once.
    pub recovered: Recovered,
}

/// How a recorded run ended.
#[derive(Debug)]
pub struct RunResult {
    /// Its outcome.
    pub outcome: Outcome,
    /// How long it took, from its own report (0 when it sent none).
    pub duration_ms: u64,
    /// Its history number, once written.
    pub seq: Option<i64>,
    /// Why the history did not keep it, when it did not.
    pub lost: Option<HistoryError>,
}

impl RecordedRun {
    /// Connects to the engine, recovers what gone processes left, and
    /// starts `pipeline`; its history goes to `history` (`None`: the
    /// user's). A pipeline in a folder that is not its project's (a
    /// temporary worktree) keeps the project's name. `recover` false skips
    /// recovery (a long-lived front end recovers once, at its start).
    pub async fn start(
        pipeline: Pipeline,
        history: Option<PathBuf>,
        recover: bool,
    ) -> Result<Self, Problem> {
        // The git state is read while the engine is reached and recovered.
        let ready = async {
            let engine = Engine::connect().await.map_err(|e| e.problem())?;
            let recovered = match recover {
                true => crate::recover::recover(Some(&engine), history.clone()).await,
                false => Recovered::default(),
            };
            Ok::<_, Problem>((engine, recovered))
        };
        let (ready, git) = tokio::join!(ready, crate::git::inspect(&pipeline.root));
        let (engine, recovered) = ready?;
        let git = git.ok();
        let (handle, events) = crate::pipeline::start(engine, pipeline, git);
        Ok(Self::recording(handle, events, history, recovered))
    }

    /// Connects to the engine, recovers as [`RecordedRun::start`] does, and
    /// starts a CircleCI workflow run.
    pub async fn start_workflow(
        prepared: crate::workflow::Prepared,
        history: Option<PathBuf>,
        recover: bool,
    ) -> Result<Self, Problem> {
        let engine = Engine::connect().await.map_err(|e| e.problem())?;
        let recovered = match recover {
            true => crate::recover::recover(Some(&engine), history.clone()).await,
            false => Recovered::default(),
        };
        let (handle, events) = crate::workflow::start(engine, prepared.run, prepared.git);
        Ok(Self::recording(handle, events, history, recovered))
    }

    fn recording(
        handle: RunHandle,
        events: Events,
        history: Option<PathBuf>,
        recovered: Recovered,
    ) -> Self {
        let writer = Writer::start(history);
        RecordedRun {
            handle: Some(handle),
            events,
            writer,
            unrecorded: Vec::new(),
            finished: None,
            recovered,
        }
    }

    /// Events that no engine produced (a front end's tests), recorded in
    /// `history` as a run's.
    pub fn from_events(events: Events, history: Option<PathBuf>) -> Self {
        RecordedRun {
            handle: None,
            events,
            writer: Writer::start(history),
            unrecorded: Vec::new(),
            finished: None,
            recovered: Recovered::default(),
        }
    }

    /// The run's handle (its id, cancelling it); `None` for events that
    /// no engine produced.
    pub fn handle(&self) -> Option<&RunHandle> {
        self.handle.as_ref()
    }

    /// The history number, once the run's start is written.
    pub fn seq(&self) -> Option<i64> {
        self.writer.seq()
    }

    /// Records what was received last, then waits for the next events
    /// ([`RecordedRun::received`] has them); `false` once the run has
    /// reported everything. Safe to cancel (in a `select!`): nothing is lost.
    pub async fn next(&mut self) -> bool {
        if !self.unrecorded.is_empty() {
            self.writer.record_from(&mut self.unrecorded).await;
        }
        let received = self
            .events
            .recv_many(&mut self.unrecorded, RECEIVE_MAX)
            .await;
        if received == 0 {
            return false;
        }
        for event in &self.unrecorded {
            if let Event::RunFinished {
                outcome,
                duration_ms,
                ..
            } = &event.event
            {
                self.finished = Some((outcome.clone(), *duration_ms));
            }
        }
        true
    }

    /// The run's verdict among the events last received, if it came:
    /// what to tell before cleanup ends.
    pub fn verdict(&self) -> Option<(Outcome, u64)> {
        self.unrecorded.iter().find_map(|e| match &e.event {
            Event::Verdict {
                outcome,
                duration_ms,
            } => Some((outcome.clone(), *duration_ms)),
            _ => None,
        })
    }

    /// Hands the history what was received (shown already: `received` is
    /// empty after) and waits until it is written, so the verdict is kept
    /// before it is told; why the history could not keep it, if it could not.
    pub async fn settle(&mut self) -> Option<HistoryError> {
        if !self.unrecorded.is_empty() {
            self.writer.record_from(&mut self.unrecorded).await;
        }
        self.writer.written().await
    }

    /// The events the last [`RecordedRun::next`] received, to show; they
    /// are recorded by the next call (or by [`RecordedRun::finish`]).
    pub fn received(&self) -> &[RunEvent] {
        &self.unrecorded
    }

    /// Waits for the history to have all of it; the run's result.
    pub async fn finish(self) -> RunResult {
        let RecordedRun {
            handle,
            events,
            mut writer,
            mut unrecorded,
            finished,
            ..
        } = self;
        drop(events);
        if !unrecorded.is_empty() {
            writer.record_from(&mut unrecorded).await;
        }
        let recorded = writer.finish().await;
        let (outcome, duration_ms) = match (finished, handle) {
            (Some(f), _) => f,
            (None, Some(handle)) => (handle.wait().await, 0),
            (None, None) => (Outcome::Cancelled, 0),
        };
        RunResult {
            outcome,
            duration_ms,
            seq: recorded.seq,
            lost: recorded.lost,
        }
    }
}
