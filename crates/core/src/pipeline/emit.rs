//! How a run's events leave it: stamped with the run and the time since it
//! started, and the run cancelled once nobody listens. Pipelines, workflows
//! and their log followers send through one [`EventSender`].

use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::event::{Event, LogStream, RunEvent, RunId};

/// Sends one run's events.
#[derive(Debug, Clone)]
pub(crate) struct EventSender {
    pub(crate) run_id: RunId,
    pub(crate) cancel: CancellationToken,
    started: Instant,
    tx: mpsc::Sender<Vec<RunEvent>>,
}

impl EventSender {
    /// A sender for run `run_id`, started now.
    pub(crate) fn new(
        run_id: RunId,
        tx: mpsc::Sender<Vec<RunEvent>>,
        cancel: CancellationToken,
    ) -> Self {
        EventSender {
            run_id,
            cancel,
            started: Instant::now(),
            tx,
        }
    }

    pub(crate) fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Hands `events` over; `false`, and the run cancelled, when nobody
    /// listens any more.
    pub(crate) async fn send(&self, events: Vec<RunEvent>) -> bool {
        if self.tx.send(events).await.is_ok() {
            return true;
        }
        if !self.cancel.is_cancelled() {
            tracing::warn!(run = %self.run_id, "event receiver dropped; cancelling the run");
            self.cancel.cancel();
        }
        false
    }

    /// Sends one event, stamped now.
    pub(crate) async fn emit(&self, event: Event) {
        let event = RunEvent {
            run_id: self.run_id.clone(),
            elapsed_ms: self.elapsed_ms(),
            event,
        };
        self.send(vec![event]).await;
    }

    /// Sends lines that arrived together, in as few hand-offs as
    /// [`super::log_events`] allows; `false` once nobody listens.
    pub(crate) async fn lines(&self, step: usize, stream: LogStream, lines: Vec<String>) -> bool {
        if lines.is_empty() {
            return true;
        }
        let at = self.elapsed_ms();
        for batch in super::log_events(&self.run_id, at, step, stream, lines) {
            if !self.send(batch).await {
                return false;
            }
        }
        true
    }
}
