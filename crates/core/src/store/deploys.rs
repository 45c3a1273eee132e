//! The deploy history, beside the run history (`deploys` in `history.db`),
//! and the claim that makes a deploy happen once: a deploy is keyed by
//! (project, trigger, SHA), and claiming it is one SQLite transaction, so a
//! double click, a second window, the tray and the CLI at once get one
//! claim between them.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::words::{json_word, word_column};
use super::{History, HistoryError};
use crate::config::DeployKind;

/// The ledger's table.
pub(super) const LEDGER: &str = "CREATE TABLE IF NOT EXISTS deploys (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         project TEXT NOT NULL,
         trigger TEXT NOT NULL,
         kind TEXT NOT NULL,
         branch TEXT NOT NULL,
         sha TEXT NOT NULL,
         attempt INTEGER NOT NULL,
         origin TEXT NOT NULL,
         forced TEXT,
         state TEXT NOT NULL,
         detail TEXT,
         started_at_ms INTEGER NOT NULL,
         finished_at_ms INTEGER,
         UNIQUE (project, trigger, sha, attempt)
     );";

/// Each deploy's image, kept since the registry push.
pub(super) const IMAGE: &str = "ALTER TABLE deploys ADD COLUMN image TEXT;";

/// The process that claimed each deploy, to tell a deploy still firing
/// from one whose process is gone.
pub(super) const OWNER: &str = "ALTER TABLE deploys ADD COLUMN owner TEXT;";

/// Where a deploy stands.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployState {
    /// Its request is on its way.
    Firing,
    /// The trigger accepted it.
    Succeeded,
    /// The trigger refused it or failed.
    Failed,
    /// No answer came (a timeout): it may or may not have happened.
    Unknown,
}

/// Who or what started a deploy.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// `slipway deploy`.
    Cli,
    /// The window's Deploy button.
    Click,
    /// The tray menu.
    Tray,
    /// A merge when green that landed, with deploy after merge on.
    AfterMerge,
}

/// A deploy, as the history keeps it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployRecord {
    /// Its number in the history.
    pub id: i64,
    /// Project name.
    pub project: String,
    /// The trigger's name.
    pub trigger: String,
    /// The trigger's kind.
    pub kind: DeployKind,
    /// The branch deployed.
    pub branch: String,
    /// The commit deployed.
    pub sha: String,
    /// The image of that commit it refers to (`repository:tag`, as
    /// `{image}` fills in); `None` in deploys recorded before it was kept.
    pub image: Option<String>,
    /// 1 for the first deploy of this commit, 2 for "deploy again", ...
    pub attempt: i64,
    /// Who started it.
    pub origin: Origin,
    /// What the gate's override skipped, when it was forced.
    pub forced: Option<String>,
    /// Where it stands.
    pub state: DeployState,
    /// What the trigger answered, or why it is unknown.
    pub detail: Option<String>,
    /// When it started (ms since the Unix epoch).
    pub started_at_ms: i64,
    /// When it ended.
    pub finished_at_ms: Option<i64>,
}

/// A deploy about to be claimed.
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    pub project: &'a str,
    pub trigger: &'a str,
    pub kind: DeployKind,
    pub branch: &'a str,
    pub sha: &'a str,
    pub origin: Origin,
    pub forced: Option<&'a str>,
    /// Deploy this commit again through this trigger.
    pub again: bool,
    /// The commit's image (`repository:tag`).
    pub image: &'a str,
}

/// Why a claim was not granted: the deploy of this commit that exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken(pub DeployRecord);

/// What an interrupted deploy's record says.
const INTERRUPTED: &str = "interrupted: its process ended while the trigger ran (killed, crashed, or the machine stopped); the request may or may not have reached it";

const COLUMNS: &str = "id, project, trigger, kind, branch, sha, attempt, origin, forced, state, detail, started_at_ms, finished_at_ms, image";

fn record(row: &rusqlite::Row<'_>) -> rusqlite::Result<DeployRecord> {
    Ok(DeployRecord {
        id: row.get(0)?,
        project: row.get(1)?,
        trigger: row.get(2)?,
        kind: word_column(row, 3)?,
        branch: row.get(4)?,
        sha: row.get(5)?,
        attempt: row.get(6)?,
        origin: word_column(row, 7)?,
        forced: row.get(8)?,
        state: word_column(row, 9)?,
        detail: row.get(10)?,
        started_at_ms: row.get(11)?,
        finished_at_ms: row.get(12)?,
        image: row.get(13)?,
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl History {
    /// Claims a deploy: recorded as firing and returned, unless this commit
    /// was already deployed through this trigger (or is being deployed) and
    /// `again` was not asked, or a deploy of it is in progress.
    pub fn claim_deploy(
        &self,
        claim: &Claim<'_>,
    ) -> Result<Result<DeployRecord, Taken>, HistoryError> {
        let conn = self.conn();
        let tx =
            rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)
                .map_err(|e| self.error(e))?;
        let latest = tx
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM deploys WHERE project = ?1 AND trigger = ?2 AND sha = ?3 ORDER BY attempt DESC LIMIT 1"
                ),
                params![claim.project, claim.trigger, claim.sha],
                record,
            )
            .optional()
            .map_err(|e| self.error(e))?;
        if let Some(latest) = latest.clone()
            && (!claim.again || latest.state == DeployState::Firing)
        {
            return Ok(Err(Taken(latest)));
        }
        let attempt = latest.map_or(1, |l| l.attempt + 1);
        tx.execute(
            "INSERT INTO deploys (project, trigger, kind, branch, sha, attempt, origin, forced, state, started_at_ms, image, owner)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'firing', ?9, ?10, ?11)",
            params![
                claim.project,
                claim.trigger,
                json_word(&claim.kind),
                claim.branch,
                claim.sha,
                attempt,
                json_word(&claim.origin),
                claim.forced,
                now_ms(),
                claim.image,
                crate::owner::current()
            ],
        )
        .map_err(|e| self.error(e))?;
        let id = tx.last_insert_rowid();
        let row = tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM deploys WHERE id = ?1"),
                [id],
                record,
            )
            .map_err(|e| self.error(e))?;
        tx.commit().map_err(|e| self.error(e))?;
        Ok(Ok(row))
    }

    /// Records how a claimed deploy ended.
    pub fn finish_deploy(
        &self,
        id: i64,
        state: DeployState,
        detail: Option<&str>,
    ) -> Result<DeployRecord, HistoryError> {
        self.conn()
            .execute(
                "UPDATE deploys SET state = ?2, detail = ?3, finished_at_ms = ?4 WHERE id = ?1",
                params![id, json_word(&state), detail, now_ms()],
            )
            .map_err(|e| self.error(e))?;
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM deploys WHERE id = ?1"),
                [id],
                record,
            )
            .map_err(|e| self.error(e))
    }

    /// Deploys left firing by a process that is gone (killed while its
    /// trigger ran): marked unknown, since the request may or may not have
    /// reached the trigger. Deploys firing in a living process are left alone.
    pub fn interrupt_deploys(&self) -> Result<Vec<DeployRecord>, HistoryError> {
        if self.frozen.is_some() {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn()
            .prepare("SELECT id, owner FROM deploys WHERE state = 'firing'")
            .map_err(|e| self.error(e))?;
        let firing: Vec<(i64, Option<String>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.error(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.error(e))?;
        let mut interrupted = Vec::new();
        for (id, owner) in firing {
            if owner.as_deref().is_some_and(crate::owner::is_alive) {
                continue;
            }
            self.conn()
                .execute(
                    "UPDATE deploys SET state = 'unknown', detail = ?2, finished_at_ms = ?3 WHERE id = ?1 AND state = 'firing'",
                    params![id, INTERRUPTED, now_ms()],
                )
                .map_err(|e| self.error(e))?;
            interrupted.push(
                self.conn()
                    .query_row(
                        &format!("SELECT {COLUMNS} FROM deploys WHERE id = ?1"),
                        [id],
                        record,
                    )
                    .map_err(|e| self.error(e))?,
            );
        }
        Ok(interrupted)
    }

    /// The most recent deploys, newest first, optionally of one project.
    pub fn deploys(
        &self,
        limit: usize,
        project: Option<&str>,
    ) -> Result<Vec<DeployRecord>, HistoryError> {
        let mut stmt = self
            .conn()
            .prepare(&format!(
                "SELECT {COLUMNS} FROM deploys WHERE (?1 IS NULL OR project = ?1) ORDER BY id DESC LIMIT ?2"
            ))
            .map_err(|e| self.error(e))?;
        let rows = stmt
            .query_map(params![project, limit as i64], record)
            .map_err(|e| self.error(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.error(e))?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(again: bool) -> Claim<'static> {
        Claim {
            project: "cities",
            trigger: "hub",
            kind: DeployKind::Dockerhub,
            branch: "master",
            sha: "a1b2c3d",
            origin: Origin::Cli,
            forced: None,
            again,
            image: "octo/cities:a1b2c3d",
        }
    }

    #[test]
    fn a_commit_is_deployed_once_unless_asked_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        let first = History::open(&path)
            .unwrap()
            .claim_deploy(&claim(false))
            .unwrap()
            .unwrap();
        assert_eq!((first.attempt, first.state), (1, DeployState::Firing));
        assert_eq!(first.image.as_deref(), Some("octo/cities:a1b2c3d"));
        // In progress: not even "again" claims it.
        let other = History::open(&path).unwrap();
        assert_eq!(
            other.claim_deploy(&claim(true)).unwrap(),
            Err(Taken(first.clone()))
        );
        let done = other
            .finish_deploy(first.id, DeployState::Succeeded, Some("HTTP 200"))
            .unwrap();
        assert_eq!(done.state, DeployState::Succeeded);
        assert!(matches!(
            other.claim_deploy(&claim(false)).unwrap(),
            Err(Taken(_))
        ));
        let again = other.claim_deploy(&claim(true)).unwrap().unwrap();
        assert_eq!(again.attempt, 2);
        let listed = other.deploys(10, Some("cities")).unwrap();
        assert_eq!(listed.iter().map(|d| d.attempt).collect::<Vec<_>>(), [2, 1]);
    }

    #[test]
    fn a_stored_value_no_enum_knows_is_refused_not_guessed() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::open(&dir.path().join("history.db")).unwrap();
        let first = history.claim_deploy(&claim(false)).unwrap().unwrap();
        let stored: (String, String, String) = history
            .conn()
            .query_row(
                "SELECT kind, origin, state FROM deploys WHERE id = ?1",
                [first.id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(stored, ("dockerhub".into(), "cli".into(), "firing".into()));
        history
            .conn()
            .execute(
                "UPDATE deploys SET state = 'exploded' WHERE id = ?1",
                [first.id],
            )
            .unwrap();
        let refused = history.deploys(10, None).unwrap_err();
        assert!(
            refused.to_string().contains("unknown value \"exploded\""),
            "{refused}"
        );
    }

    #[test]
    fn claims_from_many_threads_grant_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        History::open(&path).unwrap();
        let granted: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let path = path.clone();
                    s.spawn(move || {
                        History::open(&path)
                            .unwrap()
                            .claim_deploy(&claim(false))
                            .unwrap()
                            .is_ok() as usize
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(granted, 1);
    }
}
