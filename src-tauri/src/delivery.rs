//! Deploys from the window and the tray, through the core's gate and its
//! once-per-commit claim ([`slipway_core::deploy`]): the gate's answer for
//! the Deploy button, firing a trigger, the deploy history; each result is
//! notified.

use std::path::{Path, PathBuf};

use serde::Serialize;
use slipway_core::accounts::AccountStore;
use slipway_core::config::Pipeline;
use slipway_core::deploy::gate::GateRefusal;
use slipway_core::deploy::{
    self, DeployRecord, DeployState, GateStatus, Origin, Outcome, Refused, Request, Stores,
};
use slipway_core::secrets::Secrets;
use slipway_core::{ErrorCode, Problem};
use tauri::{AppHandle, Manager, State};
use tokio_util::sync::CancellationToken;

use crate::AppState;
use crate::news::{DeployChanged, DeployNews, NewsBus, RunNews};
use slipway_core::flow::Project;
use tauri_specta::Event as _;

/// A declared deploy trigger.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct TriggerView {
    /// Its name (`hub`).
    pub name: String,
    /// `dockerhub` or `command`.
    pub kind: String,
    /// The branch it deploys.
    pub branch: String,
}

/// What the Deploy button shows: the trigger, the gate's answer, the last
/// deploy of that commit.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct DeployStatus {
    /// Project folder.
    pub path: PathBuf,
    /// The trigger the button fires (the first declared).
    pub trigger: TriggerView,
    /// Every declared trigger's name.
    pub triggers: Vec<String>,
    /// The commit that would be deployed: the tip of the branch on GitHub.
    pub sha: String,
    /// Why the gate refuses, when it does.
    pub refusal: Option<String>,
    /// What to do about it.
    pub hint: Option<String>,
    /// The last deploy of this commit through this trigger.
    pub last: Option<DeployRecord>,
}

/// The result of a Deploy click.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct DeployDone {
    /// The deploy, when a request was sent.
    pub sent: Option<DeployRecord>,
    /// Why nothing was sent (the gate, or this commit already deployed).
    pub refused: Option<Problem>,
}

/// What to do about the gate's refusal, in the window's words.
fn gate_hint(refusal: &GateRefusal) -> String {
    match refusal {
        GateRefusal::NotTip { tip, branch, .. } => format!(
            "Deploy {}, the tip of {branch}, or merge the commit into {branch} first.",
            slipway_core::git::short_sha(tip)
        ),
        GateRefusal::NoChecks { .. } | GateRefusal::Pending { .. } => {
            "Wait for the checks to pass, or choose Deploy anyway.".into()
        }
        GateRefusal::Red { .. } => {
            "Fix the failing checks and merge the fix, or choose Deploy anyway.".into()
        }
    }
}

/// What to do about a refused deploy, in the window's words.
fn refusal_hint(refused: &Refused) -> String {
    match refused {
        Refused::Gate(refusal) => gate_hint(refusal),
        Refused::AlreadyDeployed(_) => "Choose Deploy again to send it once more.".into(),
        Refused::InFlight(_) => {
            "Wait for it to finish; the deploy history shows how it ended.".into()
        }
    }
}

impl From<Outcome> for DeployDone {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Sent(record) => DeployDone {
                sent: Some(record),
                refused: None,
            },
            Outcome::Refused(refused) => DeployDone {
                sent: None,
                refused: Some(refused.problem().with_hint(refusal_hint(&refused))),
            },
        }
    }
}

/// The Deploy button's state for a project whose pipeline declares a
/// trigger; `None` when it declares none.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn deploy_status(
    state: State<'_, AppState>,
    path: String,
    trigger: Option<String>,
) -> Result<Option<DeployStatus>, Problem> {
    let path = state.known_project(&path)?;
    let pipeline = slipway_core::project::pipeline(&path)?;
    if pipeline.deploys.is_empty() {
        return Ok(None);
    }
    let project = Project::open_default(&path).await?;
    let status = deploy::status(&project, &pipeline, trigger.as_deref(), None).await?;
    Ok(status.map(|s| DeployStatus::new(path, &pipeline, s)))
}

impl DeployStatus {
    /// The gate's answer in the window's words.
    fn new(path: PathBuf, pipeline: &Pipeline, status: GateStatus) -> Self {
        let (refusal, hint) = status.verdict.refusal.map_or((None, None), |r| {
            (Some(format!("not deployed: {r}")), Some(gate_hint(&r)))
        });
        DeployStatus {
            path,
            trigger: TriggerView {
                name: status.trigger.name.clone(),
                kind: status.trigger.kind.word().into(),
                branch: status.branch,
            },
            triggers: pipeline.deploys.iter().map(|d| d.name.clone()).collect(),
            sha: status.verdict.sha,
            refusal,
            hint,
            last: status.last,
        }
    }
}

/// Deploys (the button, or the tray with `origin` tray): the gate and the
/// once-per-commit claim apply; `force` and `again` are the user's explicit
/// "Deploy anyway" and "Deploy again".
pub async fn fire(app: &AppHandle, path: &Path, request: Request) -> Result<DeployDone, Problem> {
    let pipeline = slipway_core::project::pipeline(path)?;
    let accounts = AccountStore::open_default()?;
    let project = Project::open(path, &accounts).await?;
    let stores = Stores {
        secrets: &Secrets::os(),
        accounts: &accounts,
        history: None,
    };
    let cancel = CancellationToken::new();
    let outcome = deploy::deploy(&project, &pipeline, &request, stores, &cancel, |step| {
        tracing::info!("{step}")
    })
    .await?;
    let done = DeployDone::from(outcome);
    tell(app, path, result_text(&pipeline.project, &done));
    Ok(done)
}

/// Deploys from the window.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(app, state))]
pub async fn deploy_fire(
    app: AppHandle,
    state: State<'_, AppState>,
    path: String,
    trigger: Option<String>,
    force: bool,
    again: bool,
) -> Result<DeployDone, Problem> {
    let path = state.known_project(&path)?;
    let request = Request {
        trigger,
        sha: None,
        force,
        again,
        origin: Origin::Click,
    };
    fire(&app, &path, request).await
}

/// Tells the notifications a deploy's news.
pub fn tell(app: &AppHandle, path: &Path, (title, body): (String, String)) {
    let changed = DeployChanged {
        path: path.to_path_buf(),
    };
    if let Err(e) = changed.emit(app) {
        tracing::debug!(error = %e, "no window to tell of a deploy");
    }
    app.state::<NewsBus>().publish(RunNews::Deploy(DeployNews {
        path: path.to_path_buf(),
        title,
        body,
    }));
}

/// Past deploys, newest first, optionally of one project.
#[tauri::command]
#[specta::specta]
#[tracing::instrument]
pub async fn deploys_list(
    project: Option<String>,
    limit: u32,
) -> Result<Vec<DeployRecord>, Problem> {
    tokio::task::spawn_blocking(move || {
        let history = slipway_core::store::History::open_default()?;
        Ok(history.deploys(limit.min(1000) as usize, project.as_deref())?)
    })
    .await
    .map_err(|e| {
        Problem::new(
            ErrorCode::History,
            format!("reading the deploys failed: {e}"),
        )
    })?
}

/// The words for a deploy's result: title and body of its notification.
pub fn result_text(project: &str, done: &DeployDone) -> (String, String) {
    match (&done.sent, &done.refused) {
        (Some(d), _) => {
            let short = slipway_core::git::short_sha(&d.sha);
            let detail = d.detail.clone().unwrap_or_default();
            match d.state {
                DeployState::Succeeded => (
                    format!("{project}: deployed {short} via {}", d.trigger),
                    detail,
                ),
                DeployState::Failed => (format!("{project}: deploy failed"), detail),
                DeployState::Unknown => (format!("{project}: deploy outcome unknown"), detail),
                DeployState::Firing => (
                    format!("{project}: deploying {short} via {}", d.trigger),
                    detail,
                ),
            }
        }
        (None, Some(problem)) => (format!("{project}: not deployed"), problem.message.clone()),
        (None, None) => (format!("{project}: not deployed"), String::new()),
    }
}
