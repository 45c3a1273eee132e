//! Run sessions: each pipeline run the app starts is one task that owns it.
//! The task records the run's history, keeps a bounded replay of its events
//! for windows that attach late, streams batches to attached channels,
//! and on the result updates the tray and sends a notification.

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use slipway_core::event::{Event, LogStream, Outcome, RunEvent};
use slipway_core::history::History;
use slipway_core::{ErrorCode, Problem};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager};
use tauri_specta::Event as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How often batched events are pushed to the web view.
const BATCH_EVERY: Duration = Duration::from_millis(50);
/// Most events pushed at once (log lines are folded, so this bounds memory,
/// not the number of messages).
const BATCH_MAX: usize = 20_000;
/// Most events taken from the pipeline at once.
const RECEIVE_MAX: usize = 4_096;
/// Events kept for replay to late subscribers (the full log is in history).
const REPLAY_MAX: usize = 100_000;
/// Batches that may wait for the history writer before the run waits for
/// it (and so, through the pipeline's own bound, the container's output).
const HISTORY_QUEUE: usize = 4;

/// What a run's channel carries: its events in order, with consecutive log
/// lines of one step and stream folded into one item. A busy log arrives as
/// a few strings per batch instead of thousands of objects, which is what
/// keeps the web view's main thread free while a million lines stream in.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pushed {
    /// Any event but a log line.
    Event {
        /// The event.
        event: RunEvent,
    },
    /// Log lines, joined with `\n` (a line never holds one).
    Lines {
        /// When the last of them was written.
        elapsed_ms: u64,
        /// The step they belong to.
        step: usize,
        /// Where they came from.
        stream: LogStream,
        /// The lines.
        text: String,
    },
}

/// Folds events into what the channel carries.
pub fn fold<E: Borrow<RunEvent>>(events: &[E]) -> Vec<Pushed> {
    let mut out: Vec<Pushed> = Vec::new();
    for event in events {
        let event: &RunEvent = event.borrow();
        if let Event::Log { step, stream, line } = &event.event {
            if let Some(Pushed::Lines {
                elapsed_ms,
                step: s,
                stream: st,
                text,
            }) = out.last_mut()
                && s == step
                && st == stream
            {
                text.push('\n');
                text.push_str(line);
                *elapsed_ms = event.elapsed_ms;
                continue;
            }
            out.push(Pushed::Lines {
                elapsed_ms: event.elapsed_ms,
                step: *step,
                stream: *stream,
                text: line.clone(),
            });
        } else {
            out.push(Pushed::Event {
                event: event.clone(),
            });
        }
    }
    out
}

/// A run began.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct RunStarted {
    /// The run.
    pub run_id: String,
    /// Project folder.
    pub path: PathBuf,
}

/// A run ended.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct RunFinished {
    /// The run.
    pub run_id: String,
    /// Project folder.
    pub path: PathBuf,
    /// Project name.
    pub project: String,
    /// History number, when recorded.
    pub seq: Option<i64>,
    /// The result.
    pub outcome: Outcome,
    /// Total duration.
    pub duration_ms: u64,
}

/// The window should show this project (and run, when given).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct Navigate {
    /// Project folder.
    pub path: PathBuf,
    /// Run to open, if any.
    pub run_id: Option<String>,
    /// History number of that run, to open it in the history.
    pub seq: Option<i64>,
}

struct Active {
    path: PathBuf,
    cancel: CancellationToken,
    attach: mpsc::UnboundedSender<Channel<Vec<Pushed>>>,
}

/// The runs in progress.
#[derive(Default)]
pub struct Sessions {
    active: Mutex<HashMap<String, Active>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Active>> {
        self.active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether any run is in progress.
    pub fn any_running(&self) -> bool {
        !self.lock().is_empty()
    }

    /// The runs in progress: id and project folder.
    pub fn list(&self) -> Vec<(String, PathBuf)> {
        self.lock()
            .iter()
            .map(|(id, a)| (id.clone(), a.path.clone()))
            .collect()
    }

    /// The run in progress for a project folder, if any.
    pub fn running_for(&self, path: &std::path::Path) -> Option<String> {
        self.lock()
            .iter()
            .find(|(_, a)| a.path == path)
            .map(|(id, _)| id.clone())
    }

    /// Asks a run to stop.
    pub fn cancel(&self, run_id: &str) -> Result<(), Problem> {
        match self.lock().get(run_id) {
            Some(active) => {
                active.cancel.cancel();
                Ok(())
            }
            None => Err(Problem::new(
                ErrorCode::BadConfig,
                format!("run {run_id} is not in progress"),
            )),
        }
    }

    /// Streams a run's events (past ones first) to `channel`.
    pub fn attach(&self, run_id: &str, channel: Channel<Vec<Pushed>>) -> Result<(), Problem> {
        let sessions = self.lock();
        let active = sessions.get(run_id).ok_or_else(|| {
            Problem::new(
                ErrorCode::BadConfig,
                format!("run {run_id} is not in progress"),
            )
        })?;
        active.attach.send(channel).map_err(|_| {
            Problem::new(
                ErrorCode::BadConfig,
                format!("run {run_id} has just finished"),
            )
        })
    }
}

/// Starts the pipeline of the project at `path`; returns the run id.
pub async fn start(app: &AppHandle, path: PathBuf) -> Result<String, Problem> {
    let sessions = app.state::<Sessions>();
    if let Some(run_id) = sessions.running_for(&path) {
        return Err(
            Problem::new(ErrorCode::BadConfig, "this project is already running")
                .with_hint(format!("Wait for run {run_id} to finish, or cancel it.")),
        );
    }
    let pipeline = slipway_core::config::load(&path)?;
    let engine = slipway_core::engine::Engine::connect().await?;
    let git = slipway_core::git::inspect(&pipeline.root).await;
    let project = pipeline.project.clone();
    let (handle, events) = slipway_core::pipeline::start(engine, pipeline, git);
    let run_id = handle.run_id().to_string();
    let (attach_tx, attach_rx) = mpsc::unbounded_channel();
    sessions.lock().insert(
        run_id.clone(),
        Active {
            path: path.clone(),
            cancel: handle.cancel_token(),
            attach: attach_tx,
        },
    );
    crate::tray::show_state(app, crate::tray::TrayState::Running);
    if let Err(e) = (RunStarted {
        run_id: run_id.clone(),
        path: path.clone(),
    })
    .emit(app)
    {
        tracing::warn!(error = %e, "could not announce the run");
    }
    tauri::async_runtime::spawn(drive(app.clone(), handle, events, attach_rx, project, path));
    Ok(run_id)
}

/// Owns one run until it ends.
async fn drive(
    app: AppHandle,
    handle: slipway_core::pipeline::RunHandle,
    mut events: slipway_core::pipeline::Events,
    mut attach: mpsc::UnboundedReceiver<Channel<Vec<Pushed>>>,
    project: String,
    path: PathBuf,
) {
    let run_id = handle.run_id().to_string();
    let recorder = HistoryWriter::start();
    // Each event is shared by the replay, the next batch and the history
    // writer; a busy log is hundreds of thousands of events a second.
    let mut replay: VecDeque<Arc<RunEvent>> = VecDeque::new();
    let mut channels: Vec<Channel<Vec<Pushed>>> = Vec::new();
    let mut batch: Vec<Arc<RunEvent>> = Vec::new();
    let mut incoming: Vec<RunEvent> = Vec::new();
    let mut ticker = tokio::time::interval(BATCH_EVERY);
    let mut finished: Option<(Outcome, u64)> = None;
    loop {
        tokio::select! {
            received = events.recv_many(&mut incoming, RECEIVE_MAX) => {
                if received == 0 {
                    break;
                }
                for event in incoming.drain(..) {
                    if let Event::RunFinished { outcome, duration_ms, .. } = &event.event {
                        finished = Some((outcome.clone(), *duration_ms));
                    }
                    let event = Arc::new(event);
                    if replay.len() == REPLAY_MAX {
                        replay.pop_front();
                    }
                    replay.push_back(event.clone());
                    batch.push(event);
                }
                if batch.len() >= BATCH_MAX {
                    flush(&mut channels, &mut batch, &recorder).await;
                }
            },
            Some(channel) = attach.recv() => {
                let past: Vec<Arc<RunEvent>> = replay.iter().cloned().collect();
                let ok = past.chunks(BATCH_MAX).all(|chunk| channel.send(fold(chunk)).is_ok());
                if ok {
                    channels.push(channel);
                }
            }
            _ = ticker.tick() => flush(&mut channels, &mut batch, &recorder).await,
        }
    }
    flush(&mut channels, &mut batch, &recorder).await;
    let (outcome, duration_ms) = match finished {
        Some(f) => f,
        None => (handle.wait().await, 0),
    };
    let seq = recorder.finish().await;
    app.state::<Sessions>().lock().remove(&run_id);

    let result = RunFinished {
        run_id: run_id.clone(),
        path: path.clone(),
        project: project.clone(),
        seq,
        outcome,
        duration_ms,
    };
    if let Err(e) = result.clone().emit(&app) {
        tracing::warn!(error = %e, "could not announce the result");
    }
    crate::tray::show_result(&app, &result.outcome);
    crate::notify::run_result(&app, &result);
}

/// Sends what came since the last flush to the windows and to history.
async fn flush(
    channels: &mut Vec<Channel<Vec<Pushed>>>,
    batch: &mut Vec<Arc<RunEvent>>,
    recorder: &HistoryWriter,
) {
    if batch.is_empty() {
        return;
    }
    let batch = std::mem::take(batch);
    if !channels.is_empty() {
        let pushed = fold(&batch);
        // A window that went away stops listening; the run goes on.
        channels.retain(|channel| channel.send(pushed.clone()).is_ok());
    }
    recorder.record(batch).await;
}

/// Writes history on its own thread: SQLite calls block, and a connection
/// must not be shared between async tasks.
///
/// Events reach it in batches, so a busy log wakes it a few times a second
/// rather than once a line; the queue is bounded, so a writer that falls
/// behind slows the run instead of holding its events in memory.
struct HistoryWriter {
    tx: mpsc::Sender<Vec<Arc<RunEvent>>>,
    done: tokio::sync::oneshot::Receiver<Option<i64>>,
}

impl HistoryWriter {
    fn start() -> Self {
        let (tx, mut rx) = mpsc::channel::<Vec<Arc<RunEvent>>>(HISTORY_QUEUE);
        let (done_tx, done) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let history = match History::open_default() {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!("{e}; this run will not be recorded");
                    let _ = done_tx.send(None);
                    return;
                }
            };
            let mut recorder = history.recorder();
            'batches: while let Some(batch) = rx.blocking_recv() {
                for event in batch {
                    if let Err(e) = recorder.record(&event) {
                        tracing::warn!("{e}; the rest of this run will not be recorded");
                        break 'batches;
                    }
                }
            }
            let _ = done_tx.send(recorder.seq());
        });
        HistoryWriter { tx, done }
    }

    async fn record(&self, events: Vec<Arc<RunEvent>>) {
        if self.tx.send(events).await.is_err() {
            tracing::debug!("history writer stopped");
        }
    }

    async fn finish(self) -> Option<i64> {
        drop(self.tx);
        self.done.await.ok().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway_core::event::RunId;

    fn event(run_id: &RunId, elapsed_ms: u64, event: Event) -> RunEvent {
        RunEvent {
            run_id: run_id.clone(),
            elapsed_ms,
            event,
        }
    }

    fn log(
        run_id: &RunId,
        elapsed_ms: u64,
        step: usize,
        stream: LogStream,
        line: &str,
    ) -> RunEvent {
        event(
            run_id,
            elapsed_ms,
            Event::Log {
                step,
                stream,
                line: line.into(),
            },
        )
    }

    #[test]
    fn consecutive_lines_of_a_stream_fold_in_order() {
        let id = RunId::new();
        let started = event(&id, 1, Event::StepStarted { step: 3 });
        let events = vec![
            log(&id, 1, 3, LogStream::Stdout, "one"),
            log(&id, 2, 3, LogStream::Stdout, ""),
            log(&id, 3, 3, LogStream::Stdout, "three"),
            log(&id, 4, 3, LogStream::Stderr, "oops"),
            started.clone(),
            log(&id, 5, 3, LogStream::Stdout, "four"),
        ];
        let lines = |elapsed_ms, stream, text: &str| Pushed::Lines {
            elapsed_ms,
            step: 3,
            stream,
            text: text.into(),
        };
        assert_eq!(
            fold(&events),
            vec![
                lines(3, LogStream::Stdout, "one\n\nthree"),
                lines(4, LogStream::Stderr, "oops"),
                Pushed::Event { event: started },
                lines(5, LogStream::Stdout, "four"),
            ]
        );
    }
}
