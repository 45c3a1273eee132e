//! Run sessions: each pipeline run the app starts is one task that owns it.
//! The task records the run's history, keeps a bounded replay of its events
//! for windows that attach late, streams batches to attached channels, and
//! publishes when the run starts and ends ([`crate::news`]), which the tray
//! and notifications follow.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use slipway_core::event::{Event, RunEvent, RunId};
use slipway_core::livelog::{LiveLog, LogRow};
use slipway_core::record::RecordedRun;
use slipway_core::{ErrorCode, Problem};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager};
use tauri_specta::Event as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::news::{NewsBus, RunFinished, RunNews, RunStarted};

/// How often batched events are pushed to the web view.
const BATCH_EVERY: Duration = Duration::from_millis(50);
/// How often at most the windows are told a log grew: each time, a window
/// that follows the log draws the newest rows sent with it.
const LOG_EVERY: Duration = Duration::from_millis(100);
/// Most of a log's newest rows sent with each `Pushed::Log`: more than a
/// window shows (100 rows are 1,800 pixels).
const TAIL_ROWS: usize = 100;
/// About how much of a message those rows may take. Tauri hands a message
/// under 8 KiB to the page as a script; a bigger one makes the page fetch
/// it, a second request like the `run_log` the rows are sent to spare.
const TAIL_BYTES: usize = 6_000;
/// Events other than log lines kept for windows that attach late.
const REPLAY_MAX: usize = 10_000;
/// Lines of a run's log a window can scroll back through (the full log is
/// in history).
pub const LIVE_LOG_LINES: usize = 100_000;

/// What a run's channel carries: its events in order, except log lines,
/// which stay here: the channel says how many there are and sends the
/// newest few, which is what a window that follows the log draws; a window
/// scrolled back asks for the rows it draws (`run_log`). A run that writes
/// a million lines then costs the web view a few dozen rows a frame.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pushed {
    /// Any event but a log line.
    Event {
        /// The event.
        event: RunEvent,
    },
    /// The log grew.
    Log {
        /// When its newest line was written.
        elapsed_ms: u64,
        /// Lines written so far.
        total: u64,
        /// Lines no longer held.
        first: u64,
        /// Its newest lines (up to `TAIL_ROWS`, fewer when they are long).
        tail: Vec<LogRow>,
    },
}

impl Pushed {
    fn log(elapsed_ms: u64, log: &LiveLog) -> Self {
        Pushed::Log {
            elapsed_ms,
            total: log.total(),
            first: log.first(),
            tail: log.tail_within(TAIL_ROWS, TAIL_BYTES),
        }
    }
}

/// A window's view of a run's log: some of its lines and where they are.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct LogSlice {
    /// Lines written so far.
    pub total: u64,
    /// Lines no longer held.
    pub first: u64,
    /// The lines asked for that are held.
    pub rows: Vec<LogRow>,
}

struct Active {
    path: PathBuf,
    cancel: CancellationToken,
    /// A workflow's approval jobs are answered here.
    approvals: Option<slipway_core::pipeline::Approvals>,
    attach: mpsc::UnboundedSender<Channel<Vec<Pushed>>>,
    /// Its verdict is told; it is removing its containers.
    cleaning: bool,
}

/// A run's live log, shared by the task that runs it and the windows that
/// read it.
type SharedLog = Arc<Mutex<LiveLog>>;

fn lock_log(log: &SharedLog) -> std::sync::MutexGuard<'_, LiveLog> {
    log.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The runs in progress, and the live log of each project's latest run
/// (kept after it ends, while the window shows it).
#[derive(Default)]
pub struct Sessions {
    active: Mutex<HashMap<RunId, Active>>,
    logs: Mutex<HashMap<PathBuf, (RunId, SharedLog)>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RunId, Active>> {
        self.active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether any run is in progress.
    pub fn any_running(&self) -> bool {
        !self.lock().is_empty()
    }

    /// Whether any run is still before its verdict (the others only
    /// remove their containers).
    pub fn any_undecided(&self) -> bool {
        self.lock().values().any(|a| !a.cleaning)
    }

    /// The runs in progress: id and project folder.
    pub fn list(&self) -> Vec<(RunId, PathBuf)> {
        self.lock()
            .iter()
            .map(|(id, a)| (id.clone(), a.path.clone()))
            .collect()
    }

    /// The run in progress for a project folder, if any.
    pub fn running_for(&self, path: &std::path::Path) -> Option<RunId> {
        self.lock()
            .iter()
            .find(|(_, a)| a.path == path)
            .map(|(id, _)| id.clone())
    }

    /// Asks a run to stop.
    pub fn cancel(&self, run_id: &RunId) -> Result<(), Problem> {
        match self.lock().get(run_id) {
            Some(active) => {
                active.cancel.cancel();
                Ok(())
            }
            None => Err(not_in_progress(run_id)),
        }
    }

    /// Answers a workflow run's approval job.
    pub fn approve(&self, run_id: &RunId, job: &str, approved: bool) -> Result<(), Problem> {
        let sent = self
            .lock()
            .get(run_id)
            .and_then(|active| active.approvals.as_ref())
            .is_some_and(|a| a.approve(job, approved));
        match sent {
            true => Ok(()),
            false => Err(not_in_progress(run_id)),
        }
    }

    /// Forgets a run that ended.
    fn remove(&self, run_id: &RunId) {
        self.lock().remove(run_id);
    }

    /// The run's verdict is told: only its cleanup is left.
    fn cleaning(&self, run_id: &RunId) {
        if let Some(active) = self.lock().get_mut(run_id) {
            active.cleaning = true;
        }
    }

    /// The run in progress for a project folder that is past its verdict.
    fn cleaning_for(&self, path: &std::path::Path) -> bool {
        self.lock().values().any(|a| a.path == path && a.cleaning)
    }

    /// Starts the live log of a run, replacing the project's previous one.
    fn logs(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, (RunId, SharedLog)>> {
        self.logs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn new_log(&self, path: &std::path::Path, run_id: &RunId) -> SharedLog {
        let log = Arc::new(Mutex::new(LiveLog::new(LIVE_LOG_LINES)));
        self.logs()
            .insert(path.to_path_buf(), (run_id.clone(), log.clone()));
        log
    }

    fn log(&self, run_id: &RunId) -> Result<SharedLog, Problem> {
        self.logs()
            .values()
            .find(|(id, _)| id == run_id)
            .map(|(_, log)| log.clone())
            .ok_or_else(|| {
                Problem::new(ErrorCode::NotFound, format!("run {run_id} has no live log"))
                    .with_hint("Its project has run again since; open the run in History.")
            })
    }

    /// Up to `count` lines of a run's live log from line `from`, or its
    /// newest `count` lines when `from` is `None`.
    pub fn log_rows(
        &self,
        run_id: &RunId,
        from: Option<u64>,
        count: usize,
    ) -> Result<LogSlice, Problem> {
        let log = self.log(run_id)?;
        let log = lock_log(&log);
        Ok(LogSlice {
            total: log.total(),
            first: log.first(),
            rows: match from {
                Some(from) => log.rows(from, count),
                None => log.tail(count),
            },
        })
    }

    /// The newest `count` lines of one step of a run's live log.
    pub fn step_log(
        &self,
        run_id: &RunId,
        step: usize,
        count: usize,
    ) -> Result<Vec<slipway_core::livelog::LogRow>, Problem> {
        let log = self.log(run_id)?;
        let log = lock_log(&log);
        Ok(log.step_tail(step, count))
    }

    /// Lines of a run's live log that contain `query` (see [`LiveLog::search`]).
    pub fn log_search(
        &self,
        run_id: &RunId,
        query: &str,
        limit: usize,
    ) -> Result<Vec<u64>, Problem> {
        let log = self.log(run_id)?;
        Ok(lock_log(&log).search(query, limit))
    }

    /// Streams a run's events (past ones first) to `channel`.
    pub fn attach(&self, run_id: &RunId, channel: Channel<Vec<Pushed>>) -> Result<(), Problem> {
        let sessions = self.lock();
        let active = sessions
            .get(run_id)
            .ok_or_else(|| not_in_progress(run_id))?;
        active.attach.send(channel).map_err(|_| {
            Problem::new(
                ErrorCode::NotFound,
                format!("run {run_id} has just finished"),
            )
            .with_hint("Open it in History.")
        })
    }
}

fn not_in_progress(run_id: &RunId) -> Problem {
    Problem::new(
        ErrorCode::NotFound,
        format!("run {run_id} is not in progress"),
    )
    .with_hint("It has finished: open it in History.")
}

/// What a run's owner needs from the app around it, so [`drive`] runs (and
/// is tested) without a window.
pub trait RunHost: Send + Sync + 'static {
    /// The runs in progress.
    fn sessions(&self) -> &Sessions;
    /// Where the run's history goes; `None` for the data folder.
    fn history_path(&self) -> Option<PathBuf> {
        None
    }
    /// The run ended: tell the windows and the rest of the app.
    fn announce(&self, result: RunFinished);
}

impl RunHost for AppHandle {
    fn sessions(&self) -> &Sessions {
        self.state::<Sessions>().inner()
    }

    fn announce(&self, result: RunFinished) {
        if let Err(e) = result.clone().emit(self) {
            tracing::warn!(error = %e, "could not announce the result");
        }
        self.state::<NewsBus>()
            .publish(RunNews::Finished(Box::new(result)));
    }
}

/// Starts the pipeline of the project at `path` (its CircleCI workflow,
/// when it has `.circleci/config.yml` and no slipway.toml); returns the run id.
pub async fn start(app: &AppHandle, path: PathBuf) -> Result<RunId, Problem> {
    if slipway_core::workflow::config_of(&path).is_some() {
        let select = slipway_core::workflow::Selection::default();
        let secrets = slipway_core::secrets::Secrets::os();
        let prepared =
            slipway_core::workflow::prepare(&path, &select, Vec::new(), Some(&secrets)).await?;
        let project = prepared.run.project.clone();
        wait_for_cleanup(app, &path).await?;
        let recorded = RecordedRun::start_workflow(prepared, app.history_path(), false).await?;
        return follow(app, path, project, recorded);
    }
    let pipeline = slipway_core::project::pipeline(&path)?;
    start_pipeline(app, path, pipeline).await
}

/// Starts the pipeline of the project at `path` as committed at
/// `reference` (a pull request's head, a branch, a SHA), in a temporary
/// worktree removed once the run has its result; the user's files are not
/// touched. Returns the run id.
pub async fn start_at(app: &AppHandle, path: PathBuf, reference: &str) -> Result<RunId, Problem> {
    let at = slipway_core::project::pipeline_at(&path, reference).await?;
    let mut news = app.state::<NewsBus>().subscribe();
    let run_id = start_pipeline(app, path, at.pipeline).await?;
    let worktree = at.worktree;
    let ran = run_id.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match news.recv().await {
                Ok(RunNews::Finished(done)) if done.run_id == ran => break,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
        drop(worktree);
    });
    Ok(run_id)
}

/// How long a new run waits for the project's last run to finish its cleanup.
const CLEANUP_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Starts `pipeline` as the project at `path`'s run (a preflight's may be
/// in a temporary worktree); returns the run id.
pub async fn start_pipeline(
    app: &AppHandle,
    path: PathBuf,
    pipeline: slipway_core::config::Pipeline,
) -> Result<RunId, Problem> {
    wait_for_cleanup(app, &path).await?;
    let project = pipeline.project.clone();
    // The app recovered what gone processes left once, at its start.
    let recorded = RecordedRun::start(pipeline, app.history_path(), false).await?;
    follow(app, path, project, recorded)
}

/// Waits while the project's last run removes its containers; refuses
/// when it is still running.
async fn wait_for_cleanup(app: &AppHandle, path: &std::path::Path) -> Result<(), Problem> {
    let sessions = app.state::<Sessions>();
    // A run past its verdict is only removing its containers: wait for it.
    let deadline = tokio::time::Instant::now() + CLEANUP_WAIT;
    while sessions.cleaning_for(path) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    if let Some(run_id) = sessions.running_for(path) {
        return Err(
            Problem::new(ErrorCode::Conflict, "this project is already running")
                .with_hint(format!("Wait for run {run_id} to finish, or cancel it.")),
        );
    }
    Ok(())
}

/// Makes a started run the project's: the windows can attach to it, and a
/// task drives it to its end.
fn follow(
    app: &AppHandle,
    path: PathBuf,
    project: String,
    recorded: RecordedRun,
) -> Result<RunId, Problem> {
    let sessions = app.state::<Sessions>();
    let Some(handle) = recorded.handle() else {
        return Err(Problem::new(
            ErrorCode::DockerError,
            "the run did not start",
        ));
    };
    let run_id = handle.run_id().clone();
    let (attach_tx, attach_rx) = mpsc::unbounded_channel();
    sessions.lock().insert(
        run_id.clone(),
        Active {
            path: path.clone(),
            cancel: handle.cancel_token(),
            approvals: handle.approvals(),
            attach: attach_tx,
            cleaning: false,
        },
    );
    let started = RunStarted {
        run_id: run_id.clone(),
        path: path.clone(),
    };
    if let Err(e) = started.clone().emit(app) {
        tracing::warn!(error = %e, "could not announce the run");
    }
    app.state::<NewsBus>().publish(RunNews::Started(started));
    let log = sessions.new_log(&path, &run_id);
    let run = Run {
        run_id: run_id.clone(),
        project,
        path,
        log,
    };
    tauri::async_runtime::spawn(drive(app.clone(), run, recorded, attach_rx));
    Ok(run_id)
}

/// The run a [`drive`] owns: what it is, and its live log.
#[derive(Debug)]
pub struct Run {
    /// The run.
    pub run_id: RunId,
    /// Project name.
    pub project: String,
    /// Project folder.
    pub path: PathBuf,
    /// Its live log, shared with the windows.
    pub log: SharedLog,
}

/// Owns one run until it ends: the core records it; this streams it to the
/// windows that attach, and announces the result through `host`.
async fn drive(
    host: impl RunHost,
    run: Run,
    mut recorded: RecordedRun,
    mut attach: mpsc::UnboundedReceiver<Channel<Vec<Pushed>>>,
) {
    let Run {
        run_id,
        project,
        path,
        log,
    } = run;
    let mut replay: VecDeque<RunEvent> = VecDeque::new();
    let mut channels: Vec<Channel<Vec<Pushed>>> = Vec::new();
    let mut pending = Pending::default();
    let mut ticker = tokio::time::interval(BATCH_EVERY);
    loop {
        tokio::select! {
            more = recorded.next() => {
                if !more {
                    break;
                }
                for event in recorded.received() {
                    match &event.event {
                        Event::Log { step, stream, line } => {
                            // Locked a line at a time: the window's reads
                            // (on its main thread) never wait for a batch.
                            lock_log(&log).push(*step, *stream, line);
                            pending.log = Some(event.elapsed_ms);
                        }
                        other => {
                            // Past its verdict, a run only removes its containers.
                            if matches!(other, Event::Verdict { .. }) {
                                host.sessions().cleaning(&run_id);
                            }
                            if replay.len() == REPLAY_MAX {
                                replay.pop_front();
                            }
                            replay.push_back(event.clone());
                            pending.windows.push(Pushed::Event { event: event.clone() });
                        }
                    }
                }
            },
            Some(channel) = attach.recv() => {
                if send_past(&channel, &replay, &log) {
                    channels.push(channel);
                }
            }
            _ = ticker.tick() => pending.flush(&mut channels, &log),
        }
    }
    pending.log_told = None;
    pending.flush(&mut channels, &log);
    // Windows that asked to attach as the run ended get all of it.
    while let Ok(channel) = attach.try_recv() {
        send_past(&channel, &replay, &log);
    }
    let result = recorded.finish().await;
    host.sessions().remove(&run_id);
    let unrecorded = result.lost.map(|lost| {
        tracing::warn!("{lost}; the run was not kept in the history");
        lost.problem()
    });
    host.announce(RunFinished {
        run_id,
        path,
        project,
        seq: result.seq,
        outcome: result.outcome,
        duration_ms: result.duration_ms,
        unrecorded,
    });
}

/// Sends a window that attaches what it missed: the events kept, and how
/// far the log got. `false` when the window is gone.
fn send_past(channel: &Channel<Vec<Pushed>>, replay: &VecDeque<RunEvent>, log: &SharedLog) -> bool {
    let mut past: Vec<Pushed> = replay
        .iter()
        .map(|event| Pushed::Event {
            event: event.clone(),
        })
        .collect();
    let log = lock_log(log);
    if log.total() > 0 {
        past.push(Pushed::log(replay.back().map_or(0, |e| e.elapsed_ms), &log));
    }
    channel.send(past).is_ok()
}

/// What came since the last flush, for the windows: events, and how far
/// the log got.
#[derive(Default)]
struct Pending {
    windows: Vec<Pushed>,
    /// When the newest line was written, if the log grew.
    log: Option<u64>,
    /// When the windows were last told the log grew.
    log_told: Option<std::time::Instant>,
}

impl Pending {
    fn flush(&mut self, channels: &mut Vec<Channel<Vec<Pushed>>>, log: &SharedLog) {
        let mut pushed = std::mem::take(&mut self.windows);
        let log_due = self.log_told.is_none_or(|at| at.elapsed() >= LOG_EVERY);
        if let Some(elapsed_ms) = self.log.take_if(|_| log_due) {
            self.log_told = Some(std::time::Instant::now());
            pushed.push(Pushed::log(elapsed_ms, &lock_log(log)));
        }
        if !pushed.is_empty() {
            // A window that went away stops listening; the run goes on.
            channels.retain(|channel| channel.send(pushed.clone()).is_ok());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway_core::event::{LogStream, Outcome};

    fn id(text: &str) -> RunId {
        RunId(text.into())
    }

    struct TestHost {
        sessions: Sessions,
        history: PathBuf,
        results: Mutex<Vec<RunFinished>>,
    }

    impl RunHost for Arc<TestHost> {
        fn sessions(&self) -> &Sessions {
            &self.sessions
        }
        fn history_path(&self) -> Option<PathBuf> {
            Some(self.history.clone())
        }
        fn announce(&self, result: RunFinished) {
            self.results.lock().unwrap().push(result);
        }
    }

    fn at(run_id: &RunId, elapsed_ms: u64, event: Event) -> RunEvent {
        RunEvent {
            run_id: run_id.clone(),
            elapsed_ms,
            event,
        }
    }

    #[tokio::test]
    async fn drive_records_streams_and_announces_a_run_without_a_window() {
        let dir = tempfile::tempdir().unwrap();
        let host = Arc::new(TestHost {
            sessions: Sessions::default(),
            history: dir.path().join("history.db"),
            results: Mutex::default(),
        });
        let run_id = RunId::new();
        let path = PathBuf::from("/p");
        let log = host.sessions.new_log(&path, &run_id);
        let (attach_tx, attach_rx) = mpsc::unbounded_channel();
        host.sessions.lock().insert(
            run_id.clone(),
            Active {
                path: path.clone(),
                cancel: CancellationToken::new(),
                approvals: None,
                attach: attach_tx.clone(),
                cleaning: false,
            },
        );
        let seen = Arc::new(Mutex::new(String::new()));
        let window = seen.clone();
        let channel = Channel::new(move |body| {
            if let tauri::ipc::InvokeResponseBody::Json(json) = body {
                window.lock().unwrap().push_str(&json);
            }
            Ok(())
        });
        attach_tx.send(channel).unwrap();
        let step = slipway_core::event::StepInfo {
            name: "unit".into(),
            kind: slipway_core::event::StepKind::Test,
            job: None,
        };
        let mut events = vec![at(
            &run_id,
            0,
            Event::RunStarted {
                project: "p".into(),
                root: path.clone(),
                image: "p:latest".into(),
                git: None,
                engine: "unix:///var/run/docker.sock".into(),
                steps: vec![step],
                started_at_ms: 1,
                workflow: None,
            },
        )];
        for n in 0..3 {
            events.push(at(
                &run_id,
                5,
                Event::Log {
                    step: 0,
                    stream: LogStream::Stdout,
                    line: format!("line {n}"),
                },
            ));
        }
        events.push(at(
            &run_id,
            9,
            Event::RunFinished {
                outcome: Outcome::Passed,
                duration_ms: 9,
                image_id: None,
            },
        ));
        let run = Run {
            run_id: run_id.clone(),
            project: "p".into(),
            path: path.clone(),
            log,
        };
        let events = slipway_core::pipeline::Events::from_events(events);
        let recorded = RecordedRun::from_events(events, Some(host.history.clone()));
        drive(host.clone(), run, recorded, attach_rx).await;

        let results = host.results.lock().unwrap().clone();
        assert_eq!(results.len(), 1);
        assert_eq!(
            (&results[0].run_id, &results[0].outcome, results[0].seq),
            (&run_id, &Outcome::Passed, Some(1))
        );
        assert!(!host.sessions.any_running(), "the run is forgotten");
        let history = slipway_core::store::History::open(&host.history).unwrap();
        assert_eq!(history.logs(1).unwrap().0.len(), 3);
        let window = seen.lock().unwrap().clone();
        assert!(window.contains("\"run_started\""), "{window}");
        assert!(window.contains("\"run_finished\""), "{window}");
        assert!(window.contains("line 2"), "{window}");
        assert_eq!(host.sessions.log_rows(&run_id, None, 10).unwrap().total, 3);
    }

    #[test]
    fn a_window_reads_the_rows_it_asks_for() {
        let sessions = Sessions::default();
        let log = sessions.new_log(std::path::Path::new("/p"), &id("run-1"));
        for n in 0..10 {
            lock_log(&log).push(2, LogStream::Stdout, &format!("line {n}"));
        }
        let tail = sessions.log_rows(&id("run-1"), None, 3).unwrap();
        assert_eq!((tail.total, tail.first), (10, 0));
        let texts: Vec<_> = tail.rows.iter().map(|r| (r.seq, r.text.as_str())).collect();
        assert_eq!(texts, [(7, "line 7"), (8, "line 8"), (9, "line 9")]);
        let window = sessions.log_rows(&id("run-1"), Some(4), 2).unwrap();
        assert_eq!(
            window.rows.iter().map(|r| r.seq).collect::<Vec<_>>(),
            [4, 5]
        );
        assert_eq!(
            sessions.log_search(&id("run-1"), "LINE 3", 10).unwrap(),
            [3]
        );
    }

    #[test]
    fn a_log_message_carries_the_newest_rows_and_stays_a_script() {
        let mut log = LiveLog::new(1_000);
        for n in 0..500 {
            log.push(1, LogStream::Stdout, &n.to_string());
        }
        let Pushed::Log {
            total, first, tail, ..
        } = Pushed::log(7, &log)
        else {
            unreachable!()
        };
        assert_eq!((total, first, tail.len()), (500, 0, TAIL_ROWS));
        assert_eq!(tail.last().map(|r| r.seq), Some(499));
        // Long lines: fewer rows, and the message still under Tauri's 8 KiB
        // limit for handing it over as a script.
        for n in 0..500 {
            log.push(1, LogStream::Stderr, &format!("{n} {}", "x".repeat(150)));
        }
        let message = vec![Pushed::log(9, &log)];
        let Pushed::Log { tail, .. } = &message[0] else {
            unreachable!()
        };
        assert!(tail.len() > 20 && tail.len() < TAIL_ROWS, "{}", tail.len());
        assert_eq!(tail.last().map(|r| r.seq), Some(999));
        let json = serde_json::to_string(&message).unwrap();
        assert!(json.len() < 8_192, "{} bytes", json.len());
    }

    #[test]
    fn a_project_keeps_the_log_of_its_latest_run_only() {
        let sessions = Sessions::default();
        let path = std::path::Path::new("/p");
        sessions.new_log(path, &id("run-1"));
        sessions.new_log(std::path::Path::new("/q"), &id("run-2"));
        sessions.new_log(path, &id("run-3"));
        let err = sessions.log_rows(&id("run-1"), None, 10).unwrap_err();
        assert!(err.message.contains("run-1"), "{}", err.message);
        assert!(
            err.hint.as_deref().unwrap_or("").contains("History"),
            "{err:?}"
        );
        assert!(sessions.log_rows(&id("run-2"), None, 10).is_ok());
        assert!(
            sessions
                .log_rows(&id("run-3"), None, 10)
                .unwrap()
                .rows
                .is_empty()
        );
    }
}
