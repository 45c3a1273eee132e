//! The history writer: a run's events recorded on a thread of its own.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::{mpsc, oneshot};

use super::{History, HistoryError};
use crate::event::RunEvent;

/// Records runs on a thread of its own: SQLite calls block, and a
/// connection must not be shared between async tasks. Events come in
/// batches, so a busy log wakes it a few times a second rather than once a
/// line; its queue is bounded, so a writer that falls behind slows the run
/// instead of holding its events in memory.
#[derive(Debug)]
pub struct Writer {
    tx: mpsc::Sender<Vec<RunEvent>>,
    seq: Arc<AtomicI64>,
    done: oneshot::Receiver<Recorded>,
    /// Batches sent, and batches the thread is done with (and why it
    /// stopped keeping them, if it did).
    sent: u64,
    written: tokio::sync::watch::Receiver<(u64, Option<HistoryError>)>,
}

/// What the history kept of a run.
#[derive(Debug, Default)]
pub struct Recorded {
    /// The run's history number, when its start was recorded.
    pub seq: Option<i64>,
    /// Why the history could not keep all of it (disk full, a read-only
    /// folder), for the front end to say.
    pub lost: Option<HistoryError>,
}

/// Batches that may wait for the writer before the run waits for it.
const WRITER_QUEUE: usize = 4;

impl Writer {
    /// Starts recording one run in the history at `path`, or in the data
    /// folder when `None`. A history that cannot be opened or written does
    /// not stop the run: [`Writer::finish`] says why it was not kept.
    pub fn start(path: Option<PathBuf>) -> Self {
        let (tx, mut rx) = mpsc::channel::<Vec<RunEvent>>(WRITER_QUEUE);
        let (done_tx, done) = oneshot::channel();
        let seq = Arc::new(AtomicI64::new(0));
        let shared = seq.clone();
        let (progress, written) = tokio::sync::watch::channel((0u64, None));
        std::thread::spawn(move || {
            let opened = match path {
                Some(path) => History::open(&path),
                None => History::open_default(),
            };
            // Opened read only, it says why nothing can be written.
            let opened = opened.and_then(|h| match h.unwritable() {
                Some(e) => Err(e.clone()),
                None => Ok(h),
            });
            let history = match opened {
                Ok(h) => h,
                Err(e) => {
                    tracing::debug!("{e}; this run will not be recorded");
                    progress.send_replace((u64::MAX, Some(e.clone())));
                    let lost = Some(e);
                    done_tx.send(Recorded { seq: None, lost }).ok();
                    return;
                }
            };
            let mut recorder = history.recorder();
            let mut lost = None;
            let mut done = 0u64;
            'batches: while let Some(batch) = rx.blocking_recv() {
                for event in batch {
                    if let Err(e) = recorder.record(&event) {
                        tracing::debug!("{e}; the rest of this run will not be recorded");
                        progress.send_replace((u64::MAX, Some(e.clone())));
                        lost = Some(e);
                        break 'batches;
                    }
                    if let Some(seq) = recorder.seq() {
                        shared.store(seq, Ordering::Relaxed);
                    }
                }
                done += 1;
                progress.send_replace((done, None));
            }
            let seq = recorder.seq();
            // Closed before the run is told it is done, so a process that
            // exits right after leaves the file checkpointed, no WAL behind.
            drop(recorder);
            drop(history);
            done_tx.send(Recorded { seq, lost }).ok();
        });
        Writer {
            tx,
            seq,
            done,
            sent: 0,
            written,
        }
    }

    /// Records events, in order; waits while the queue is full.
    pub async fn record(&mut self, events: Vec<RunEvent>) {
        match self.tx.send(events).await {
            Ok(()) => self.sent += 1,
            Err(_) => tracing::debug!("history writer stopped"),
        }
    }

    /// Records `events` (taking them) once the queue has room; safe to
    /// cancel while it waits: the events stay in `events` until sent.
    pub async fn record_from(&mut self, events: &mut Vec<RunEvent>) {
        match self.tx.reserve().await {
            Ok(permit) => {
                permit.send(std::mem::take(events));
                self.sent += 1;
            }
            Err(_) => {
                tracing::debug!("history writer stopped");
                events.clear();
            }
        }
    }

    /// Waits until what was sent so far is written; why the history could
    /// not keep it, if it could not.
    pub async fn written(&mut self) -> Option<HistoryError> {
        let sent = self.sent;
        let seen = self
            .written
            .wait_for(|(done, lost)| *done >= sent || lost.is_some())
            .await;
        match seen {
            Ok(state) => state.1.clone(),
            // The thread is gone: `finish` says why.
            Err(_) => None,
        }
    }

    /// The run's history number, once its start is recorded.
    pub fn seq(&self) -> Option<i64> {
        Some(self.seq.load(Ordering::Relaxed)).filter(|&s| s > 0)
    }

    /// Waits until everything sent is written; what the history kept.
    pub async fn finish(self) -> Recorded {
        drop(self.tx);
        self.done.await.unwrap_or_default()
    }
}
