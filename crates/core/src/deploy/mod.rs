//! Delivery: deploy triggers fired for a green default branch, exactly
//! once. [`gate`] decides whether a commit may be deployed (the tip of the
//! trigger's branch on GitHub, its checks green), [`crate::store::deploys`] claims the
//! deploy so it happens once and keeps the deploy history, and [`fire`]
//! sends the trigger's request. The window, the tray and the CLI all go
//! through [`deploy`].

pub mod after_merge;
pub mod circleci;
pub mod fire;
pub mod gate;
pub mod github;
pub mod trigger;

use std::path::Path;

use crate::accounts::AccountStore;
use crate::config::{DeployTrigger, Pipeline};
use crate::flow::Project;
use crate::secrets::{SecretId, Secrets};
use crate::store::History;
use crate::{ErrorCode, Problem};
use tokio_util::sync::CancellationToken;

use crate::store::deploys as ledger;
pub use crate::store::deploys::{DeployRecord, DeployState, Origin};

/// What to deploy.
#[derive(Debug, Clone)]
pub struct Request {
    /// The trigger's name; `None` when the project declares one.
    pub trigger: Option<String>,
    /// The commit; `None` is the tip of the trigger's branch on GitHub.
    pub sha: Option<String>,
    /// Deploy even though the gate refuses (recorded with the deploy).
    pub force: bool,
    /// Deploy a commit already deployed through this trigger again.
    pub again: bool,
    /// Who asks.
    pub origin: Origin,
}

/// Why nothing was sent. Each front end words what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The gate said no: red, pending, no checks, not the tip.
    Gate(gate::GateRefusal),
    /// This commit was already deployed through this trigger.
    AlreadyDeployed(Box<DeployRecord>),
    /// This commit is being deployed through this trigger right now.
    InFlight(Box<DeployRecord>),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Gate(refusal) => write!(f, "not deployed: {refusal}"),
            Refused::InFlight(record) => write!(
                f,
                "{} is being deployed via {} right now",
                crate::git::short_sha(&record.sha),
                record.trigger
            ),
            Refused::AlreadyDeployed(record) => {
                let short = crate::git::short_sha(&record.sha);
                match record.state {
                    DeployState::Unknown => write!(
                        f,
                        "{short} was sent to {} already, and its outcome is unknown ({})",
                        record.trigger,
                        record.detail.as_deref().unwrap_or("no answer")
                    ),
                    state => write!(
                        f,
                        "{short} was deployed via {} already ({})",
                        record.trigger,
                        ledger_word(state)
                    ),
                }
            }
        }
    }
}

impl Refused {
    /// The refusal as a problem, without a hint: the front end adds its own.
    pub fn problem(&self) -> Problem {
        Problem::new(ErrorCode::Conflict, self.to_string())
    }
}

fn ledger_word(state: DeployState) -> &'static str {
    match state {
        DeployState::Firing => "firing",
        DeployState::Succeeded => "succeeded",
        DeployState::Failed => "failed",
        DeployState::Unknown => "outcome unknown",
    }
}

/// How a deploy attempt ended.
#[derive(Debug)]
pub enum Outcome {
    /// Sent (or forced, or refused): the record says which.
    Sent(DeployRecord),
    /// Nothing was sent.
    Refused(Refused),
}

/// Where a project's deploy stands: the trigger a Deploy button fires, the
/// gate's answer for its branch's tip, and that commit's last deploy.
#[derive(Debug, Clone)]
pub struct GateStatus {
    /// The trigger (the one asked for, else the first declared).
    pub trigger: DeployTrigger,
    /// The branch it deploys.
    pub branch: String,
    /// The gate's answer.
    pub verdict: gate::Verdict,
    /// The last deploy of that commit through that trigger.
    pub last: Option<DeployRecord>,
}

/// The gate's answer for `trigger` (else the first declared) and the last
/// deploy of the commit it would send; `None` when the project declares no
/// trigger. `history` is the history file (`None`: the user's).
pub async fn status(
    project: &Project,
    pipeline: &Pipeline,
    trigger: Option<&str>,
    history: Option<&Path>,
) -> Result<Option<GateStatus>, Problem> {
    let Some(first) = pipeline.deploys.first() else {
        return Ok(None);
    };
    let chosen = pick_trigger(pipeline, trigger.or(Some(&first.name)))?.clone();
    let branch = chosen
        .branch
        .clone()
        .unwrap_or_else(|| project.info.default_branch.clone());
    let verdict = gate::check(project, &branch, None).await?;
    let (name, wanted, sha) = (
        pipeline.project.clone(),
        chosen.name.clone(),
        verdict.sha.clone(),
    );
    let path = history.map(Path::to_path_buf);
    let last = tokio::task::spawn_blocking(move || {
        let history = open_history(path.as_deref())?;
        let all = history.deploys(50, Some(&name))?;
        Ok::<_, Problem>(
            all.into_iter()
                .find(|d| d.trigger == wanted && d.sha == sha),
        )
    })
    .await
    .map_err(|e| {
        Problem::new(
            ErrorCode::History,
            format!("reading the deploys failed: {e}"),
        )
    })??;
    Ok(Some(GateStatus {
        trigger: chosen,
        branch,
        verdict,
        last,
    }))
}

/// The trigger `name` names, or the only one the project declares.
pub fn pick_trigger<'a>(
    pipeline: &'a Pipeline,
    name: Option<&str>,
) -> Result<&'a DeployTrigger, Problem> {
    let names = || {
        pipeline
            .deploys
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        Some(name) => pipeline
            .deploys
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| {
                Problem::new(
                    ErrorCode::BadConfig,
                    format!("no deploy trigger named {name:?}"),
                )
                .with_hint(if pipeline.deploys.is_empty() {
                    "Declare one under [deploy.NAME] in slipway.toml.".to_string()
                } else {
                    format!("The project declares: {}.", names())
                })
            }),
        None => match pipeline.deploys.as_slice() {
            [only] => Ok(only),
            [] => Err(Problem::new(
                ErrorCode::BadConfig,
                "the project declares no deploy trigger",
            )
            .with_hint(
                "Declare one under [deploy.NAME] in slipway.toml (`slipway init` shows how).",
            )),
            _ => Err(Problem::new(
                ErrorCode::BadConfig,
                "the project declares several deploy triggers",
            )
            .with_hint(format!("Name one of them: {}.", names()))),
        },
    }
}

/// Where a deploy reads its secrets and accounts and keeps its record.
#[derive(Debug, Clone, Copy)]
pub struct Stores<'a> {
    /// The keychain (or a stand-in).
    pub secrets: &'a Secrets,
    /// The user's accounts.
    pub accounts: &'a AccountStore,
    /// The history file (`None`: the user's).
    pub history: Option<&'a Path>,
}

/// Deploys: checks the gate, claims the deploy (once per commit and
/// trigger), fires the trigger and records the result. `cancel` stops
/// following a run the trigger started (the outcome is then unknown).
pub async fn deploy(
    project: &Project,
    pipeline: &Pipeline,
    request: &Request,
    stores: Stores<'_>,
    cancel: &CancellationToken,
    mut progress: impl FnMut(&str) + Send,
) -> Result<Outcome, Problem> {
    let secrets = stores.secrets;
    let trigger = pick_trigger(pipeline, request.trigger.as_deref())?;
    let branch = trigger
        .branch
        .clone()
        .unwrap_or_else(|| project.info.default_branch.clone());
    progress(&format!("checking {branch} on GitHub"));
    // The secret is read while GitHub answers; a missing one must not use
    // up the claim, so it is checked before claiming.
    let kind = trigger::of(trigger.kind);
    let needs = kind.needs(trigger);
    let (project_name, name) = (pipeline.project.clone(), trigger.name.clone());
    let read = |wanted: bool, id: SecretId| async move {
        match wanted {
            true => secrets.get(id).await.map(Some),
            false => Ok(None),
        }
    };
    let (verdict, secret, signing) = tokio::join!(
        gate::check(project, &branch, request.sha.as_deref()),
        read(
            needs.secret,
            SecretId::DeployTrigger {
                project: project_name.clone(),
                trigger: name.clone(),
            }
        ),
        read(
            needs.signing,
            SecretId::WebhookSecret {
                project: project_name,
                trigger: name,
            }
        ),
    );
    let verdict = verdict?;
    let forced = match (&verdict.refusal, request.force) {
        (Some(refusal), false) => return Ok(Outcome::Refused(Refused::Gate(refusal.clone()))),
        (Some(refusal), true) => Some(format!("forced past the gate: {refusal}")),
        (None, _) => None,
    };
    if needs.circleci {
        // Signed in to CircleCI before the claim, as a secret would be.
        stores.accounts.circleci_session().await?;
    }
    let keys = fire::Keys {
        trigger: secret?,
        signing: signing?,
    };
    let sha = verdict.sha.clone();
    let (repository, tag) = crate::push::deploy_reference(pipeline, &branch, &sha);
    let image = format!("{repository}:{tag}");
    let claim = ledger::Claim {
        project: &pipeline.project,
        trigger: &trigger.name,
        kind: trigger.kind,
        branch: &branch,
        sha: &sha,
        origin: request.origin,
        forced: forced.as_deref(),
        again: request.again,
        image: &image,
    };
    let history = open_history(stores.history)?;
    let record = match history.claim_deploy(&claim)? {
        Ok(record) => record,
        Err(ledger::Taken(existing)) if existing.state == DeployState::Firing => {
            return Ok(Outcome::Refused(Refused::InFlight(Box::new(existing))));
        }
        Err(ledger::Taken(existing)) => {
            return Ok(Outcome::Refused(Refused::AlreadyDeployed(Box::new(
                existing,
            ))));
        }
    };
    progress(&format!(
        "deploying {} via {}",
        crate::git::short_sha(&sha),
        trigger.name
    ));
    let context = fire::Context {
        project: &pipeline.project,
        root: &pipeline.root,
        branch: &branch,
        sha: &sha,
        trigger: &trigger.name,
        image: &image,
        tag: &tag,
    };
    let shot = trigger::Shot {
        project,
        trigger,
        context: &context,
        keys: &keys,
        accounts: stores.accounts,
        cancel,
    };
    let mut told = |p: trigger::FireProgress| match p {
        trigger::FireProgress::Running(line) => progress(&line),
    };
    let fired = kind.fire(shot, &mut told).await;
    Ok(Outcome::Sent(history.finish_deploy(
        record.id,
        fired.state,
        Some(&fired.detail),
    )?))
}

fn open_history(path: Option<&Path>) -> Result<History, Problem> {
    Ok(match path {
        Some(p) => History::open(p)?,
        None => History::open_default()?,
    })
}
