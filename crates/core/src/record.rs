//! A pipeline run recorded in the history, as both front ends run it:
//! the engine connected, the runs of processes that are gone recovered,
//! the run started with its git state, and every event it reports written
//! to the history as the front end takes it. The front end only shows.

use std::path::PathBuf;

use crate::Problem;
use crate::config::Pipeline;
use crate::engine::Engine;
use crate::event::{Event, Outcome, RunEvent};
use crate::history::{HistoryError, Writer};
use crate::pipeline::{Events, RunHandle};
use crate::recover::Recovered;

/// Most events taken from the run at once.
const RECEIVE_MAX: usize = 4_096;

/// A run in progress whose events are kept in the history.
#[derive(Debug)]
pub struct RecordedRun {
    handle: RunHandle,
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
    /// temporary worktree) keeps the project's name.
    pub async fn start(pipeline: Pipeline, history: Option<PathBuf>) -> Result<Self, Problem> {
        let engine = Engine::connect().await.map_err(|e| e.problem())?;
        let recovered = crate::recover::recover(Some(&engine), history.clone()).await;
        let git = crate::git::inspect(&pipeline.root).await.ok();
        let writer = Writer::start(history);
        let (handle, events) = crate::pipeline::start(engine, pipeline, git);
        Ok(RecordedRun {
            handle,
            events,
            writer,
            unrecorded: Vec::new(),
            finished: None,
            recovered,
        })
    }

    /// The run's handle (its id, cancelling it).
    pub fn handle(&self) -> &RunHandle {
        &self.handle
    }

    /// The history number, once the run's start is written.
    pub fn seq(&self) -> Option<i64> {
        self.writer.seq()
    }

    /// Records what was shown last, then takes the next events (waiting for
    /// at least one) and lets `show` see each; `false` once the run has
    /// reported everything. Safe to cancel (in a `select!`): nothing is lost.
    pub async fn next(&mut self, mut show: impl FnMut(&RunEvent)) -> bool {
        if !self.unrecorded.is_empty() {
            self.writer.record_from(&mut self.unrecorded).await;
        }
        if self
            .events
            .recv_many(&mut self.unrecorded, RECEIVE_MAX)
            .await
            == 0
        {
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
            show(event);
        }
        true
    }

    /// Waits for the history to have all of it; the run's result.
    pub async fn finish(self) -> RunResult {
        let RecordedRun {
            handle,
            events,
            writer,
            mut unrecorded,
            finished,
            ..
        } = self;
        drop(events);
        if !unrecorded.is_empty() {
            writer.record_from(&mut unrecorded).await;
        }
        let recorded = writer.finish().await;
        let (outcome, duration_ms) = match finished {
            Some(f) => f,
            None => (handle.wait().await, 0),
        };
        RunResult {
            outcome,
            duration_ms,
            seq: recorded.seq,
            lost: recorded.lost,
        }
    }
}
