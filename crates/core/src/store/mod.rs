//! The store: Slipway's SQLite database in the user's data folder
//! (`$XDG_DATA_HOME/slipway/history.db` on Linux, or `$SLIPWAY_DATA_DIR`),
//! with migrations named per owner (runs, deploys).
//!
//! Runs: a [`Recorder`] turns a run's events into rows (the run when it
//! starts, its steps as they finish, its log, bounded and gzip-compressed,
//! when it ends), and a [`Writer`] runs one on its own thread for a front
//! end that must not block. [`deploys`]: the deploy history and the claim
//! that makes each deploy happen once. [`words`]: the one mapping of the
//! enums kept to their stored text.

pub mod deploys;
mod words;
mod writer;

use words::{from_word, json_word, word_column};
pub use writer::{Recorded, Writer};

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::event::{Event, LogStream, Outcome, RunEvent, RunId, StepKind, StepStatus};
use crate::{ErrorCode, Problem};

/// Bytes of log kept from the start of a run.
const HEAD_BYTES: usize = 1 << 20;
/// Bytes of log kept from the end of a run.
const TAIL_BYTES: usize = 7 << 20;
/// The database file's name.
const FILE_NAME: &str = "history.db";
/// Current schema version (`PRAGMA user_version`).
const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// Why the history could not be used.
#[derive(Debug, Clone, thiserror::Error)]
#[error("run history at {path}: {message}")]
pub struct HistoryError {
    /// The database file.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

impl HistoryError {
    /// The error as a user-facing problem.
    pub fn problem(&self) -> Problem {
        let lower = self.message.to_lowercase();
        let hint = if lower.contains("full") {
            "Free some disk space, or set SLIPWAY_DATA_DIR to a folder on another disk."
        } else if lower.contains("readonly")
            || lower.contains("read-only")
            || lower.contains("not writable")
            || lower.contains("cannot be written")
            || lower.contains("permission denied")
            || lower.contains("unable to open")
        {
            "Check that the folder is writable, or set SLIPWAY_DATA_DIR to another folder."
        } else if lower.contains("newer slipway") {
            "Update Slipway, or set SLIPWAY_DATA_DIR to another folder."
        } else {
            "Set SLIPWAY_DATA_DIR to another folder to keep the history elsewhere."
        };
        Problem::new(ErrorCode::History, self.to_string()).with_hint(hint)
    }
}

impl From<HistoryError> for Problem {
    fn from(e: HistoryError) -> Self {
        e.problem()
    }
}

/// How a recorded run ended, or that it has not.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunResult {
    /// Still going (or its process died without saying; see `Interrupted`).
    Running,
    /// Every step passed.
    Passed,
    /// A step failed.
    Failed,
    /// The user cancelled it.
    Cancelled,
    /// The environment stopped it.
    Error,
    /// Its process ended without finishing it (a crash, a kill).
    Interrupted,
}

impl From<&Outcome> for RunResult {
    fn from(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Passed => RunResult::Passed,
            Outcome::Failed { .. } => RunResult::Failed,
            Outcome::Cancelled => RunResult::Cancelled,
            Outcome::Error { .. } => RunResult::Error,
        }
    }
}

/// Where a recorded step got to.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// It never finished (not reached, or the run was interrupted).
    Pending,
    /// It did what it should.
    Passed,
    /// It did not.
    Failed,
    /// It did not run.
    Skipped,
    /// The run was cancelled while it ran.
    Cancelled,
}

impl From<StepStatus> for StepState {
    fn from(status: StepStatus) -> Self {
        match status {
            StepStatus::Passed => StepState::Passed,
            StepStatus::Failed => StepState::Failed,
            StepStatus::Skipped => StepState::Skipped,
            StepStatus::Cancelled => StepState::Cancelled,
        }
    }
}

/// A run as listed in the history.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRecord {
    /// Sequence number, what users type (`slipway logs 12`).
    pub seq: i64,
    /// The run id.
    pub id: RunId,
    /// Project name.
    pub project: String,
    /// Project folder.
    pub root: String,
    /// Image built.
    pub image: String,
    /// Image id, when the build finished.
    pub image_id: Option<String>,
    /// Git commit of the folder.
    pub git_commit: Option<String>,
    /// Git branch of the folder.
    pub git_branch: Option<String>,
    /// Start, milliseconds since the Unix epoch.
    pub started_at_ms: i64,
    /// Total duration, once finished.
    pub duration_ms: Option<i64>,
    /// How it ended.
    pub result: RunResult,
    /// Name of the step that failed.
    pub failed_step: Option<String>,
    /// Why it failed.
    pub message: Option<String>,
}

/// A step of a recorded run.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepRecord {
    /// Position in the plan.
    pub index: i64,
    /// Name.
    pub name: String,
    /// What kind of step.
    pub kind: StepKind,
    /// Where it got to.
    pub status: StepState,
    /// Duration.
    pub duration_ms: Option<i64>,
    /// Exit code of its process.
    pub exit_code: Option<i64>,
    /// Why it failed.
    pub message: Option<String>,
    /// The workflow job it belongs to; `None` in a pipeline.
    pub job: Option<String>,
}

/// A recorded test case of a workflow's test results.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestCaseRecord {
    /// The step that read it.
    pub step: i64,
    /// Its job.
    pub job: String,
    /// The case.
    pub case: crate::event::TestCase,
}

/// A recorded log line.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogRecord {
    /// Step index.
    pub step: usize,
    /// Source stream.
    pub stream: LogStream,
    /// Milliseconds since the run started.
    pub elapsed_ms: u64,
    /// The text.
    pub line: String,
}

/// A run found orphaned and marked interrupted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interrupted {
    /// Its history number.
    pub seq: i64,
    pub project: String,
    /// The step it had reached.
    pub step: Option<String>,
}

/// How long a statement waits for another writer of the history.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// One step of the schema, named by the part of the store that owns it.
#[derive(Debug)]
struct Migration {
    /// The part of the store it belongs to (`runs`, `deploys`).
    owner: &'static str,
    /// What it adds.
    name: &'static str,
    sql: &'static str,
}

/// The schema's steps, oldest first: a file at version N has had the
/// first N applied (`PRAGMA user_version`).
const MIGRATIONS: [Migration; 7] = [
    Migration {
        owner: "runs",
        name: "runs, their steps and logs",
        sql: RUNS,
    },
    Migration {
        owner: "deploys",
        name: "the deploy ledger",
        sql: deploys::LEDGER,
    },
    Migration {
        owner: "deploys",
        name: "each deploy's image",
        sql: deploys::IMAGE,
    },
    Migration {
        owner: "runs",
        name: "each run's owner process",
        sql: "ALTER TABLE runs ADD COLUMN owner TEXT;",
    },
    Migration {
        owner: "deploys",
        name: "each deploy's owner process",
        sql: deploys::OWNER,
    },
    Migration {
        owner: "runs",
        name: "workflow jobs and their test results",
        sql: "ALTER TABLE steps ADD COLUMN job TEXT;
              CREATE TABLE test_cases (
                  run_seq INTEGER NOT NULL REFERENCES runs(seq) ON DELETE CASCADE,
                  step INTEGER NOT NULL,
                  job TEXT NOT NULL,
                  ord INTEGER NOT NULL,
                  result TEXT NOT NULL,
                  body TEXT NOT NULL,
                  PRIMARY KEY (run_seq, step, ord)
              );",
    },
    Migration {
        owner: "runs",
        name: "a workflow run's job graph",
        sql: "ALTER TABLE runs ADD COLUMN workflow TEXT;",
    },
];

/// The runs' first tables.
const RUNS: &str = "CREATE TABLE runs (
         seq INTEGER PRIMARY KEY AUTOINCREMENT,
         id TEXT NOT NULL UNIQUE,
         project TEXT NOT NULL,
         root TEXT NOT NULL,
         image TEXT NOT NULL,
         image_id TEXT,
         git_commit TEXT,
         git_branch TEXT,
         git_dirty INTEGER,
         started_at_ms INTEGER NOT NULL,
         duration_ms INTEGER,
         result TEXT NOT NULL DEFAULT 'running',
         failed_step TEXT,
         message TEXT
     );
     CREATE INDEX runs_project ON runs(project, seq);
     CREATE TABLE steps (
         run_seq INTEGER NOT NULL REFERENCES runs(seq) ON DELETE CASCADE,
         idx INTEGER NOT NULL,
         name TEXT NOT NULL,
         kind TEXT NOT NULL,
         status TEXT NOT NULL DEFAULT 'pending',
         duration_ms INTEGER,
         exit_code INTEGER,
         message TEXT,
         PRIMARY KEY (run_seq, idx)
     );
     CREATE TABLE logs (
         run_seq INTEGER PRIMARY KEY REFERENCES runs(seq) ON DELETE CASCADE,
         lines INTEGER NOT NULL,
         dropped INTEGER NOT NULL,
         gzip BLOB NOT NULL
     );";

/// The history database.
#[derive(Debug)]
pub struct History {
    conn: Connection,
    path: PathBuf,
    moved_aside: Option<PathBuf>,
    /// Opened read only, as its folder cannot be written: why.
    frozen: Option<HistoryError>,
}

/// Why a history could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trouble {
    /// The file is not a sound database: moved aside, a new one started.
    Damaged,
    /// Its folder cannot be written (disk full, read-only): read it as it is.
    Storage,
    Other,
}

impl Trouble {
    fn of(e: &rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        match e.sqlite_error_code() {
            Some(C::NotADatabase | C::DatabaseCorrupt) => Trouble::Damaged,
            Some(C::SystemIoFailure | C::DiskFull | C::ReadOnly | C::CannotOpen) => {
                Trouble::Storage
            }
            _ => Trouble::Other,
        }
    }
}

/// A SQLite error as the user should read it: with the system's reason
/// when the file's folder cannot be written, where SQLite often says only
/// "disk I/O error".
fn describe(path: &Path, e: &rusqlite::Error) -> String {
    let message = e.to_string();
    if Trouble::of(e) != Trouble::Storage {
        return message;
    }
    match path.parent().and_then(unwritable) {
        Some(reason) => format!("cannot write to it: {reason}"),
        None => message,
    }
}

/// Why nothing can be written in `dir`, found by writing a byte there.
fn unwritable(dir: &Path) -> Option<&'static str> {
    let probe = dir.join(format!(".slipway-probe-{}", std::process::id()));
    let written = std::fs::write(&probe, b"x");
    let _ = std::fs::remove_file(&probe);
    match written.err()?.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            Some("the disk is full")
        }
        std::io::ErrorKind::ReadOnlyFilesystem => Some("its folder is on a read-only file system"),
        std::io::ErrorKind::PermissionDenied => Some("its folder is not writable"),
        _ => Some("its folder cannot be written"),
    }
}

impl History {
    /// Opens (creating if needed) the history in the data folder
    /// ([`crate::paths::data_dir`]).
    pub fn open_default() -> Result<Self, HistoryError> {
        let dir = crate::paths::data_dir().ok_or_else(|| HistoryError {
            path: PathBuf::from(FILE_NAME),
            message: "no home folder to keep it in".into(),
        })?;
        Self::open(&dir.join(FILE_NAME))
    }

    /// Opens (creating if needed) the history at `path`. A damaged file is
    /// moved aside (`history.db.damaged-DATE`, see [`History::moved_aside`])
    /// and a new one started, so runs are recorded again.
    pub fn open(path: &Path) -> Result<Self, HistoryError> {
        match Self::open_checked(path) {
            Ok(history) => Ok(history),
            // Read only (a connection that ignores locks and the WAL) only when
            // nothing can be written there: opened beside live writers, its
            // closing would drop their locks and let the WAL be lost to others.
            Err((error, Trouble::Storage))
                if path.exists() && path.parent().and_then(unwritable).is_some() =>
            {
                match Self::open_frozen(path) {
                    Ok(mut history) => {
                        tracing::debug!("{error}; it is read as it is on disk");
                        history.frozen = Some(error);
                        Ok(history)
                    }
                    Err(_) => Err(error),
                }
            }
            Err((error, Trouble::Storage | Trouble::Other)) => Err(error),
            Err((error, Trouble::Damaged)) => {
                let stamp = std::time::SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let aside = path.with_file_name(format!(
                    "{}.damaged-{}",
                    path.file_name().unwrap_or_default().to_string_lossy(),
                    crate::paths::utc_stamp(stamp)
                ));
                std::fs::rename(path, &aside).map_err(|e| HistoryError {
                    path: path.to_path_buf(),
                    message: format!("{} and it cannot be moved aside: {e}", error.message),
                })?;
                for suffix in ["-wal", "-shm"] {
                    let mut side = path.as_os_str().to_owned();
                    side.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(side));
                }
                tracing::warn!(
                    "the history at {} was damaged ({}); it is kept at {} and a new one is started",
                    path.display(),
                    error.message,
                    aside.display()
                );
                let mut history = Self::open_checked(path).map_err(|(e, _)| e)?;
                history.moved_aside = Some(aside);
                Ok(history)
            }
        }
    }

    /// The history, or why not and what kind of trouble it is.
    fn open_checked(path: &Path) -> Result<Self, (HistoryError, Trouble)> {
        let err = |message: String| HistoryError {
            path: path.to_path_buf(),
            message,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                (
                    err(format!("cannot create its folder: {e}")),
                    Trouble::Other,
                )
            })?;
        }
        let sqlite = |e: rusqlite::Error| (err(describe(path, &e)), Trouble::of(&e));
        let conn = Connection::open(path).map_err(sqlite)?;
        // Other processes and tasks write the same file: wait for them,
        // from the first statement on.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite)?;
        let history = History {
            conn,
            path: path.to_path_buf(),
            moved_aside: None,
            frozen: None,
        };
        let verdict: Result<String, _> = history
            .conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0));
        match verdict {
            Ok(v) if v == "ok" => {}
            Ok(v) => return Err((err(format!("it is damaged ({v})")), Trouble::Damaged)),
            Err(e) => return Err(sqlite(e)),
        }
        history.migrate().map_err(|e| {
            let trouble = if e.message.contains("malformed") || e.message.contains("not a database")
            {
                Trouble::Damaged
            } else if path.parent().and_then(unwritable).is_some() {
                Trouble::Storage
            } else {
                Trouble::Other
            };
            (e, trouble)
        })?;
        Ok(history)
    }

    /// The history as it is on disk, read only, when its folder cannot be
    /// written (disk full, read-only): past runs can still be read, and
    /// recording fails saying why.
    fn open_frozen(path: &Path) -> Result<Self, rusqlite::Error> {
        use rusqlite::OpenFlags;
        let mut uri = String::from("file:");
        for byte in path.as_os_str().as_encoded_bytes() {
            match byte {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                    uri.push(char::from(*byte))
                }
                _ => uri.push_str(&format!("%{byte:02X}")),
            }
        }
        uri.push_str("?immutable=1");
        let conn = Connection::open_with_flags(
            &uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
        )?;
        let version: i32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version != SCHEMA_VERSION {
            return Err(rusqlite::Error::InvalidQuery);
        }
        tracing::debug!("{} opened read only", path.display());
        Ok(History {
            conn,
            path: path.to_path_buf(),
            moved_aside: None,
            frozen: None,
        })
    }

    /// Runs recorded as running whose process is gone (killed, crashed,
    /// the machine stopped): each becomes `interrupted`, with the step it
    /// had reached. Runs still going in another process are not touched.
    pub fn interrupt_orphans(&self) -> Result<Vec<Interrupted>, HistoryError> {
        if self.frozen.is_some() {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn
            .prepare("SELECT seq, project, owner FROM runs WHERE result = 'running'")
            .map_err(|e| self.err(e))?;
        let running: Vec<(i64, String, Option<String>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(|e| self.err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))?;
        let mut interrupted = Vec::new();
        for (seq, project, owner) in running {
            if owner.as_deref().is_some_and(crate::owner::is_alive) {
                continue;
            }
            let step: Option<String> = self
                .conn
                .query_row(
                    "SELECT name FROM steps WHERE run_seq = ?1 AND status = 'pending' ORDER BY idx LIMIT 1",
                    [seq],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| self.err(e))?;
            let message = match &step {
                Some(step) => format!(
                    "interrupted during {step}: its process ended (killed, crashed, or the machine stopped)"
                ),
                None => "interrupted: its process ended (killed, crashed, or the machine stopped)"
                    .to_string(),
            };
            self.conn
                .execute(
                    "UPDATE runs SET result = 'interrupted', failed_step = ?2, message = ?3 WHERE seq = ?1 AND result = 'running'",
                    params![seq, step, message],
                )
                .map_err(|e| self.err(e))?;
            interrupted.push(Interrupted { seq, project, step });
        }
        Ok(interrupted)
    }

    /// Whether the run with this id left its containers without meaning
    /// to: it was interrupted, or its cleanup failed (the engine stopped
    /// answering). A container kept by the cleanup policy is not left
    /// behind.
    pub fn left_behind(&self, run_id: &str) -> Result<bool, HistoryError> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM runs r WHERE r.id = ?1 AND (r.result = 'interrupted' OR EXISTS \
                 (SELECT 1 FROM steps s WHERE s.run_seq = r.seq AND s.kind = 'cleanup' AND s.status IN ('failed', 'pending'))))",
                [run_id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Why runs cannot be recorded, when the history was opened read only
    /// because its folder cannot be written (disk full, read-only).
    pub fn unwritable(&self) -> Option<&HistoryError> {
        self.frozen.as_ref()
    }

    /// Where a damaged history was moved when this one was started in its
    /// place; a front end tells the user once.
    pub fn moved_aside(&self) -> Option<&Path> {
        self.moved_aside.as_deref()
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many runs are kept (the file's integrity is checked as it opens).
    pub fn run_count(&self) -> Result<u64, HistoryError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM runs", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// The connection, for the deploy history beside the runs.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn error(&self, e: rusqlite::Error) -> HistoryError {
        self.err(e)
    }

    fn err(&self, e: rusqlite::Error) -> HistoryError {
        HistoryError {
            path: self.path.clone(),
            message: describe(&self.path, &e),
        }
    }

    fn migrate(&self) -> Result<(), HistoryError> {
        self.conn
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
            )
            .map_err(|e| self.err(e))?;
        // One writer migrates at a time; the others then find it done.
        let current = || -> Result<i32, HistoryError> {
            self.conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(|e| self.err(e))
        };
        if current()? == SCHEMA_VERSION {
            return Ok(());
        }
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.err(e))?;
        let result = self.migrate_from(current()?);
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        self.conn.execute_batch(end).map_err(|e| self.err(e))?;
        result
    }

    fn migrate_from(&self, version: i32) -> Result<(), HistoryError> {
        if version > SCHEMA_VERSION {
            return Err(HistoryError {
                path: self.path.clone(),
                message: format!(
                    "it was written by a newer Slipway (schema {version}); update Slipway"
                ),
            });
        }
        for (done, step) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            let sql = format!("{}\nPRAGMA user_version = {};", step.sql, done + 1);
            self.conn.execute_batch(&sql).map_err(|e| HistoryError {
                path: self.path.clone(),
                message: format!(
                    "adding {} ({}) failed: {}",
                    step.name,
                    step.owner,
                    describe(&self.path, &e)
                ),
            })?;
        }
        Ok(())
    }

    /// A recorder for one run's events.
    pub fn recorder(&self) -> Recorder<'_> {
        Recorder {
            history: self,
            seq: None,
            log: LogBuffer::default(),
            log_written: None,
        }
    }

    /// The most recent runs, newest first, optionally of one project.
    pub fn list(
        &self,
        limit: usize,
        project: Option<&str>,
    ) -> Result<Vec<RunRecord>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE (?1 IS NULL OR project = ?1) ORDER BY seq DESC LIMIT ?2"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![project, limit as i64], run_from_row)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// The newest finished run of the project folder `root`.
    pub fn last_finished(&self, root: &Path) -> Result<Option<RunRecord>, HistoryError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM runs WHERE root = ?1 AND result != 'running' ORDER BY seq DESC LIMIT 1"
                ),
                [root.to_string_lossy()],
                run_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Finds a run by sequence number (`12`, `#12`), id, the id's last
    /// digits, or `last`.
    pub fn find(&self, reference: &str) -> Result<Option<RunRecord>, HistoryError> {
        let reference = reference.trim().trim_start_matches('#');
        let query = |sql: &str, arg: &dyn rusqlite::ToSql| {
            self.conn
                .query_row(
                    &format!(
                        "SELECT {RUN_COLUMNS} FROM runs WHERE {sql} ORDER BY seq DESC LIMIT 1"
                    ),
                    [arg],
                    run_from_row,
                )
                .optional()
                .map_err(|e| self.err(e))
        };
        if reference == "last" || reference.is_empty() {
            return query("?1 = ?1", &1);
        }
        if let Ok(seq) = reference.parse::<i64>()
            && let Some(run) = query("seq = ?1", &seq)?
        {
            return Ok(Some(run));
        }
        if reference.len() >= 4 && reference.chars().all(|c| c.is_ascii_hexdigit()) {
            let reference = reference.to_ascii_lowercase();
            if let Some(run) = query("id LIKE ?1 || '%'", &reference)? {
                return Ok(Some(run));
            }
            return query("id LIKE '%' || ?1", &reference);
        }
        Ok(None)
    }

    /// The steps of run `seq`.
    pub fn steps(&self, seq: i64) -> Result<Vec<StepRecord>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare("SELECT idx, name, kind, status, duration_ms, exit_code, message, job FROM steps WHERE run_seq = ?1 ORDER BY idx")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([seq], |r| {
                Ok(StepRecord {
                    index: r.get(0)?,
                    name: r.get(1)?,
                    kind: word_column(r, 2)?,
                    status: word_column(r, 3)?,
                    duration_ms: r.get(4)?,
                    exit_code: r.get(5)?,
                    message: r.get(6)?,
                    job: r.get(7)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// The job graph of run `seq`, when it was a CircleCI workflow.
    pub fn workflow(&self, seq: i64) -> Result<Option<crate::event::WorkflowInfo>, HistoryError> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT workflow FROM runs WHERE seq = ?1", [seq], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))?
            .flatten();
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// The test cases run `seq` read, failures first, then in report order.
    pub fn test_cases(&self, seq: i64) -> Result<Vec<TestCaseRecord>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare("SELECT step, job, body FROM test_cases WHERE run_seq = ?1 ORDER BY result NOT IN ('failed', 'error'), step, ord")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([seq], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows
            .into_iter()
            .filter_map(|(step, job, body)| {
                Some(TestCaseRecord {
                    step,
                    job,
                    case: serde_json::from_str(&body).ok()?,
                })
            })
            .collect())
    }

    /// The recorded log of run `seq`, and how many lines were dropped from
    /// its middle to keep it bounded.
    pub fn logs(&self, seq: i64) -> Result<(Vec<LogRecord>, u64), HistoryError> {
        let row: Option<(Vec<u8>, i64)> = self
            .conn
            .query_row(
                "SELECT gzip, dropped FROM logs WHERE run_seq = ?1",
                [seq],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let Some((gzip, dropped)) = row else {
            return Ok((Vec::new(), 0));
        };
        let mut text = String::new();
        flate2::read::GzDecoder::new(gzip.as_slice())
            .read_to_string(&mut text)
            .map_err(|e| HistoryError {
                path: self.path.clone(),
                message: format!("log of run {seq} is damaged: {e}"),
            })?;
        let lines = text
            .lines()
            .filter_map(|l| {
                let mut parts = l.splitn(4, '\t');
                Some(LogRecord {
                    step: parts.next()?.parse().ok()?,
                    stream: from_word(parts.next()?)?,
                    elapsed_ms: parts.next()?.parse().ok()?,
                    line: parts.next()?.to_string(),
                })
            })
            .collect();
        Ok((lines, dropped as u64))
    }
}

const RUN_COLUMNS: &str = "seq, id, project, root, image, image_id, git_commit, git_branch, started_at_ms, duration_ms, result, failed_step, message";

fn run_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        seq: r.get(0)?,
        id: RunId(r.get::<_, String>(1)?.into()),
        project: r.get(2)?,
        root: r.get(3)?,
        image: r.get(4)?,
        image_id: r.get(5)?,
        git_commit: r.get(6)?,
        git_branch: r.get(7)?,
        started_at_ms: r.get(8)?,
        duration_ms: r.get(9)?,
        result: word_column(r, 10)?,
        failed_step: r.get(11)?,
        message: r.get(12)?,
    })
}

/// Bytes per piece of the kept tail: the tail drops whole pieces from its
/// front, so a busy log costs an allocation per piece, not per line.
const TAIL_PIECE: usize = 64 << 10;

/// Bounded log: the first [`HEAD_BYTES`] and the last [`TAIL_BYTES`]
/// (less up to one [`TAIL_PIECE`]), as `step\tstream\telapsed\tline` rows.
#[derive(Debug, Default)]
struct LogBuffer {
    head: String,
    head_lines: u64,
    /// Full pieces of rows, oldest first, each with its number of rows.
    tail: VecDeque<(String, u64)>,
    /// The piece being filled, and its number of rows.
    current: String,
    current_lines: u64,
    /// Bytes and rows of the tail, both parts.
    tail_bytes: usize,
    tail_lines: u64,
    dropped: u64,
    /// The row prefix of the last line, reused while step, stream and
    /// time stay the same (they do for most lines of a busy log).
    prefix: String,
    prefix_of: Option<(usize, LogStream, u64)>,
}

impl LogBuffer {
    fn push(&mut self, step: usize, stream: LogStream, elapsed_ms: u64, line: &str) {
        if self.prefix_of != Some((step, stream, elapsed_ms)) {
            let name = json_word(&stream);
            self.prefix = format!("{step}\t{name}\t{elapsed_ms}\t");
            self.prefix_of = Some((step, stream, elapsed_ms));
        }
        let tabs = line.bytes().filter(|&b| b == b'\t').count();
        let len = self.prefix.len() + line.len() + 1 + 3 * tabs;
        let out = if self.tail_lines == 0 && self.head.len() + len <= HEAD_BYTES {
            self.head_lines += 1;
            &mut self.head
        } else {
            if !self.current.is_empty() && self.current.len() + len > TAIL_PIECE {
                let full = std::mem::replace(&mut self.current, String::with_capacity(TAIL_PIECE));
                self.tail
                    .push_back((full, std::mem::take(&mut self.current_lines)));
            }
            self.tail_bytes += len;
            self.tail_lines += 1;
            self.current_lines += 1;
            while self.tail_bytes > TAIL_BYTES
                && let Some((old, lines)) = self.tail.pop_front()
            {
                self.tail_bytes -= old.len();
                self.tail_lines -= lines;
                self.dropped += lines;
            }
            &mut self.current
        };
        out.push_str(&self.prefix);
        if tabs > 0 {
            out.push_str(&line.replace('\t', "    "));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }

    fn lines(&self) -> u64 {
        self.head_lines + self.tail_lines
    }

    /// Lines pushed so far, kept or dropped.
    fn pushed(&self) -> u64 {
        self.lines() + self.dropped
    }

    fn compress(&self) -> std::io::Result<Vec<u8>> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(self.head.as_bytes())?;
        for (piece, _) in &self.tail {
            gz.write_all(piece.as_bytes())?;
        }
        gz.write_all(self.current.as_bytes())?;
        gz.finish()
    }
}

/// Writes one run's events to the history.
#[derive(Debug)]
pub struct Recorder<'h> {
    history: &'h History,
    seq: Option<i64>,
    log: LogBuffer,
    /// How many lines had been pushed to the log when it was last written.
    log_written: Option<u64>,
}

impl Recorder<'_> {
    /// The run's sequence number, once `RunStarted` has been recorded.
    pub fn seq(&self) -> Option<i64> {
        self.seq
    }

    /// Records one event.
    pub fn record(&mut self, event: &RunEvent) -> Result<(), HistoryError> {
        let h = self.history;
        match &event.event {
            Event::RunStarted {
                project,
                root,
                image,
                git,
                steps,
                started_at_ms,
                workflow,
                ..
            } => {
                let tx = h.conn.unchecked_transaction().map_err(|e| h.err(e))?;
                let workflow = workflow
                    .as_ref()
                    .and_then(|w| serde_json::to_string(w).ok());
                tx.execute(
                    "INSERT INTO runs (id, project, root, image, git_commit, git_branch, git_dirty, started_at_ms, owner, workflow) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![
                        &*event.run_id.0,
                        project,
                        root.display().to_string(),
                        image,
                        git.as_ref().map(|g| &g.commit),
                        git.as_ref().and_then(|g| g.branch.as_ref()),
                        git.as_ref().map(|g| g.dirty),
                        *started_at_ms as i64,
                        crate::owner::current(),
                        workflow
                    ],
                )
                .map_err(|e| h.err(e))?;
                let seq = tx.last_insert_rowid();
                for (idx, step) in steps.iter().enumerate() {
                    tx.execute(
                        "INSERT INTO steps (run_seq, idx, name, kind, job) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![seq, idx as i64, step.name, json_word(&step.kind), step.job],
                    )
                    .map_err(|e| h.err(e))?;
                }
                tx.commit().map_err(|e| h.err(e))?;
                self.seq = Some(seq);
            }
            Event::Log { step, stream, line } => {
                self.log.push(*step, *stream, event.elapsed_ms, line)
            }
            Event::StepFinished {
                step,
                status,
                duration_ms,
                exit_code,
                message,
            } => {
                let Some(seq) = self.seq else { return Ok(()) };
                h.conn
                    .execute(
                        "UPDATE steps SET status = ?3, duration_ms = ?4, exit_code = ?5, message = ?6 WHERE run_seq = ?1 AND idx = ?2",
                        params![seq, *step as i64, json_word(status), *duration_ms as i64, exit_code, message],
                    )
                    .map_err(|e| h.err(e))?;
                if *status == StepStatus::Failed {
                    // Keep the failure summary in the log too, so `slipway logs` shows it.
                    for line in message.iter().flat_map(|m| m.lines()) {
                        self.log
                            .push(*step, LogStream::Stderr, event.elapsed_ms, line);
                    }
                }
            }
            Event::TestResults { step, job, cases } => {
                let Some(seq) = self.seq else { return Ok(()) };
                let tx = h.conn.unchecked_transaction().map_err(|e| h.err(e))?;
                for (ord, case) in cases.iter().enumerate() {
                    let body = serde_json::to_string(case).unwrap_or_default();
                    tx.execute(
                        "INSERT OR REPLACE INTO test_cases (run_seq, step, job, ord, result, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![seq, *step as i64, job, ord as i64, json_word(&case.result), body],
                    )
                    .map_err(|e| h.err(e))?;
                }
                tx.commit().map_err(|e| h.err(e))?;
            }
            Event::ImageBuilt { image_id, .. } => {
                let Some(seq) = self.seq else { return Ok(()) };
                h.conn
                    .execute(
                        "UPDATE runs SET image_id = ?2 WHERE seq = ?1",
                        params![seq, image_id],
                    )
                    .map_err(|e| h.err(e))?;
            }
            // The verdict is kept at once: a crash during cleanup keeps it.
            Event::Verdict {
                outcome,
                duration_ms,
            } => self.finish_row(outcome, *duration_ms, None)?,
            Event::RunFinished {
                outcome,
                duration_ms,
                image_id,
            } => self.finish_row(outcome, *duration_ms, image_id.as_deref())?,
            _ => {}
        }
        Ok(())
    }

    /// Writes the run's result and its log so far.
    fn finish_row(
        &mut self,
        outcome: &Outcome,
        duration_ms: u64,
        image_id: Option<&str>,
    ) -> Result<(), HistoryError> {
        let h = self.history;
        let Some(seq) = self.seq else { return Ok(()) };
        let (failed_step, message) = match outcome {
            Outcome::Failed {
                step_name, message, ..
            } => (
                Some(step_name.clone()),
                message.lines().next().map(str::to_string),
            ),
            Outcome::Error { problem, .. } => (None, Some(problem.message.clone())),
            Outcome::Passed | Outcome::Cancelled => (None, None),
        };
        // The log written at the verdict is written again at the end only
        // if lines came in between (cleanup's).
        let gzip = match self.log_written == Some(self.log.pushed()) {
            true => None,
            false => Some(self.log.compress().map_err(|e| HistoryError {
                path: h.path.clone(),
                message: e.to_string(),
            })?),
        };
        let tx = h.conn.unchecked_transaction().map_err(|e| h.err(e))?;
        tx.execute(
            "UPDATE runs SET duration_ms = ?2, result = ?3, failed_step = ?4, message = ?5, image_id = COALESCE(?6, image_id) WHERE seq = ?1",
            params![seq, duration_ms as i64, json_word(&RunResult::from(outcome)), failed_step, message, image_id],
        )
        .map_err(|e| h.err(e))?;
        if let Some(gzip) = gzip {
            tx.execute(
                "INSERT OR REPLACE INTO logs (run_seq, lines, dropped, gzip) VALUES (?1, ?2, ?3, ?4)",
                params![seq, self.log.lines() as i64, self.log.dropped as i64, gzip],
            )
            .map_err(|e| h.err(e))?;
        }
        tx.commit().map_err(|e| h.err(e))?;
        self.log_written = Some(self.log.pushed());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::StepInfo;

    fn ev(run_id: &RunId, event: Event) -> RunEvent {
        RunEvent {
            run_id: run_id.clone(),
            elapsed_ms: 7,
            event,
        }
    }

    #[test]
    fn many_first_opens_at_once_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        let opened: Vec<bool> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| History::open(&path).map(|h| h.moved_aside().is_none())))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap().unwrap_or(false))
                .collect()
        });
        assert_eq!(opened, [true; 8]);
    }

    #[test]
    fn a_damaged_history_is_moved_aside_and_a_new_one_started() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        // A good history, then damaged: its header overwritten.
        History::open(&path).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[..16].copy_from_slice(b"not a database!!");
        std::fs::write(&path, &bytes).unwrap();
        let history = History::open(&path).unwrap();
        let aside = history.moved_aside().expect("moved aside").to_path_buf();
        assert!(
            aside
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("history.db.damaged-"),
            "{}",
            aside.display()
        );
        assert_eq!(std::fs::read(&aside).unwrap()[..16], *b"not a database!!");
        assert_eq!(history.list(10, None).unwrap(), vec![]);
        // Told once: the next open finds a healthy file.
        assert!(History::open(&path).unwrap().moved_aside().is_none());
    }

    #[test]
    fn keeps_a_workflow_runs_graph_jobs_and_test_cases() {
        use crate::event::{JobInfo, TestCase, TestResult, WorkflowInfo};
        let dir = tempfile::tempdir().unwrap();
        let history = History::open(&dir.path().join("h.db")).unwrap();
        let id = RunId::new();
        let mut rec = history.recorder();
        let graph = WorkflowInfo {
            name: "main".into(),
            jobs: vec![JobInfo {
                name: "test".into(),
                requires: vec!["build".into()],
                approval: false,
            }],
        };
        rec.record(&ev(
            &id,
            Event::RunStarted {
                project: "wf".into(),
                root: "/p".into(),
                image: "workflow main".into(),
                git: None,
                engine: String::new(),
                steps: vec![StepInfo {
                    name: "unit tests".into(),
                    kind: StepKind::Test,
                    job: Some("test".into()),
                }],
                started_at_ms: 1,
                workflow: Some(Box::new(graph.clone())),
            },
        ))
        .unwrap();
        let case = |name: &str, result| TestCase {
            name: name.into(),
            classname: Some("t".into()),
            result,
            time_ms: Some(3),
            message: None,
            detail: String::new(),
            file: None,
        };
        rec.record(&ev(
            &id,
            Event::TestResults {
                step: 0,
                job: "test".into(),
                cases: vec![
                    case("ok", TestResult::Passed),
                    case("sum", TestResult::Failed),
                ],
            },
        ))
        .unwrap();
        let seq = rec.seq().unwrap();
        assert_eq!(history.workflow(seq).unwrap(), Some(graph));
        assert_eq!(history.steps(seq).unwrap()[0].job.as_deref(), Some("test"));
        let cases: Vec<(String, String)> = history
            .test_cases(seq)
            .unwrap()
            .into_iter()
            .map(|t| (t.job, t.case.name))
            .collect();
        assert_eq!(
            cases,
            [("test".into(), "sum".into()), ("test".into(), "ok".into())]
        );
    }

    #[test]
    fn records_a_run_its_steps_and_logs() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::open(&dir.path().join("h.db")).unwrap();
        let id = RunId::new();
        let mut rec = history.recorder();
        rec.record(&ev(
            &id,
            Event::RunStarted {
                project: "hello".into(),
                root: "/p".into(),
                image: "hello:latest".into(),
                git: Some(crate::event::GitInfo {
                    commit: "abc".into(),
                    branch: Some("main".into()),
                    dirty: false,
                }),
                engine: "unix:///var/run/docker.sock".into(),
                steps: vec![
                    StepInfo {
                        name: "build".into(),
                        kind: StepKind::Build,
                        job: None,
                    },
                    StepInfo {
                        name: "unit".into(),
                        kind: StepKind::Test,
                        job: None,
                    },
                ],
                started_at_ms: 1,
                workflow: None,
            },
        ))
        .unwrap();
        rec.record(&ev(
            &id,
            Event::Log {
                step: 1,
                stream: LogStream::Stdout,
                line: "a\tb".into(),
            },
        ))
        .unwrap();
        rec.record(&ev(
            &id,
            Event::StepFinished {
                step: 1,
                status: StepStatus::Failed,
                duration_ms: 5,
                exit_code: Some(3),
                message: Some("boom".into()),
            },
        ))
        .unwrap();
        rec.record(&ev(
            &id,
            Event::RunFinished {
                outcome: Outcome::Failed {
                    step: 1,
                    step_name: "unit".into(),
                    message: "boom".into(),
                },
                duration_ms: 9,
                image_id: Some("sha256:1".into()),
            },
        ))
        .unwrap();
        let seq = rec.seq().unwrap();

        let run = history.find(&seq.to_string()).unwrap().unwrap();
        assert_eq!(
            (run.result, run.failed_step.as_deref()),
            (RunResult::Failed, Some("unit"))
        );
        assert_eq!(run.id, id);
        assert_eq!(run.git_branch.as_deref(), Some("main"));
        assert_eq!(history.find(id.short()).unwrap().unwrap().seq, seq);
        assert_eq!(history.find("last").unwrap().unwrap().seq, seq);
        assert!(history.find("zzzz").unwrap().is_none());
        let steps = history.steps(seq).unwrap();
        assert_eq!(
            (steps[0].status, steps[1].status, steps[1].exit_code),
            (StepState::Pending, StepState::Failed, Some(3))
        );
        assert_eq!(
            (steps[0].kind, steps[1].kind),
            (StepKind::Build, StepKind::Test)
        );
        let (logs, dropped) = history.logs(seq).unwrap();
        assert_eq!(dropped, 0);
        assert_eq!(logs[0].line, "a    b");
        assert_eq!(logs[0].stream, LogStream::Stdout);
        assert_eq!(logs[1].stream, LogStream::Stderr);
        assert_eq!(logs[1].line, "boom");
    }

    #[tokio::test]
    async fn the_writer_records_a_run_sent_in_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let mut writer = Writer::start(Some(path.clone()));
        let id = RunId::new();
        writer
            .record(vec![ev(
                &id,
                Event::RunStarted {
                    project: "p".into(),
                    root: "/p".into(),
                    image: "p:latest".into(),
                    git: None,
                    engine: String::new(),
                    steps: vec![StepInfo {
                        name: "cleanup".into(),
                        kind: StepKind::Cleanup,
                        job: None,
                    }],
                    started_at_ms: 1,
                    workflow: None,
                },
            )])
            .await;
        let lines = (0..1000).map(|n| {
            ev(
                &id,
                Event::Log {
                    step: 0,
                    stream: LogStream::Container,
                    line: n.to_string(),
                },
            )
        });
        writer.record(lines.collect()).await;
        writer
            .record(vec![ev(
                &id,
                Event::RunFinished {
                    outcome: Outcome::Cancelled,
                    duration_ms: 3,
                    image_id: None,
                },
            )])
            .await;
        let recorded = writer.finish().await;
        assert!(recorded.lost.is_none(), "{:?}", recorded.lost);
        let seq = recorded.seq.expect("recorded");
        let history = History::open(&path).unwrap();
        let run = history.find("last").unwrap().unwrap();
        assert_eq!((run.seq, run.result), (seq, RunResult::Cancelled));
        let (logs, _) = history.logs(seq).unwrap();
        assert_eq!(logs.len(), 1000);
        assert_eq!(logs[999].line, "999");
        // A history that cannot be opened: the run goes on, unrecorded.
        let blocked = dir.path().join("file");
        std::fs::write(&blocked, "x").unwrap();
        let mut writer = Writer::start(Some(blocked.join("h.db")));
        writer
            .record(vec![ev(&id, Event::StepStarted { step: 0 })])
            .await;
        let recorded = writer.finish().await;
        assert_eq!(recorded.seq, None);
        let lost = recorded.lost.expect("says why");
        assert!(lost.to_string().contains("h.db"), "{lost}");
    }

    #[test]
    fn the_log_is_kept_at_the_verdict_and_again_only_with_cleanups_lines() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::open(&dir.path().join("h.db")).unwrap();
        let id = RunId::new();
        let mut rec = history.recorder();
        let line = |step, text: &str| Event::Log {
            step,
            stream: LogStream::Stdout,
            line: text.into(),
        };
        let texts = |seq| -> Vec<String> {
            let (lines, _) = history.logs(seq).unwrap();
            lines.into_iter().map(|l| l.line).collect()
        };
        rec.record(&ev(
            &id,
            Event::RunStarted {
                project: "p".into(),
                root: "/p".into(),
                image: "p:latest".into(),
                git: None,
                engine: String::new(),
                steps: vec![],
                started_at_ms: 1,
                workflow: None,
            },
        ))
        .unwrap();
        let seq = rec.seq().unwrap();
        rec.record(&ev(&id, line(0, "tested"))).unwrap();
        let verdict = Event::Verdict {
            outcome: Outcome::Passed,
            duration_ms: 5,
        };
        rec.record(&ev(&id, verdict)).unwrap();
        assert_eq!(texts(seq), ["tested"], "kept at the verdict");

        let finished = || Event::RunFinished {
            outcome: Outcome::Passed,
            duration_ms: 9,
            image_id: None,
        };
        rec.record(&ev(&id, line(1, "removing"))).unwrap();
        rec.record(&ev(&id, finished())).unwrap();
        assert_eq!(texts(seq), ["tested", "removing"], "cleanup's lines too");

        // Nothing new: what was written stays as it is.
        rec.record(&ev(&id, finished())).unwrap();
        assert_eq!(texts(seq), ["tested", "removing"]);
    }

    #[test]
    fn log_buffer_is_bounded() {
        let mut buf = LogBuffer::default();
        let line = "x".repeat(1000);
        for _ in 0..10_000 {
            buf.push(0, LogStream::Build, 0, &line);
        }
        assert!(buf.head.len() <= HEAD_BYTES);
        assert!(buf.tail_bytes <= TAIL_BYTES);
        assert!(buf.dropped > 0);
    }

    #[test]
    fn log_buffer_keeps_the_first_and_last_lines_and_counts_the_rest() {
        let mut buf = LogBuffer::default();
        let total = 400_000u64;
        for n in 0..total {
            buf.push(
                (n % 3) as usize,
                LogStream::Stdout,
                n / 1000,
                &format!("line {n}\tend"),
            );
        }
        let mut text = String::new();
        flate2::read::GzDecoder::new(buf.compress().unwrap().as_slice())
            .read_to_string(&mut text)
            .unwrap();
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows.len() as u64, buf.lines());
        assert_eq!(buf.lines() + buf.dropped, total);
        assert!(buf.dropped > 0, "400,000 lines must overflow the bounds");
        assert!(text.len() <= HEAD_BYTES + TAIL_BYTES);
        assert!(
            text.len() > HEAD_BYTES + TAIL_BYTES - 2 * TAIL_PIECE,
            "kept {} bytes",
            text.len()
        );
        assert_eq!(rows[0], "0\tstdout\t0\tline 0    end");
        assert_eq!(rows[rows.len() - 1], "0\tstdout\t399\tline 399999    end");
        // The head ends and the tail starts where the dropped lines were.
        let first_kept = total - (buf.lines() - buf.head_lines);
        assert_eq!(first_kept, buf.head_lines + buf.dropped);
        let row = rows[buf.head_lines as usize];
        let expected = format!(
            "{}\tstdout\t{}\tline {first_kept}    end",
            first_kept % 3,
            first_kept / 1000
        );
        assert_eq!(row, expected);
    }
}
