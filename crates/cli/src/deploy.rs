//! `slipway deploy` and `slipway deploys`: fire a project's deploy trigger
//! through the core's gate (the tip of its branch on GitHub, green) and
//! its once-per-commit claim; list the deploy history.

use std::path::Path;

use slipway_core::Problem;
use slipway_core::accounts::AccountStore;
use slipway_core::deploy::gate::GateRefusal;
use slipway_core::deploy::{
    self, DeployRecord, DeployState, Origin, Outcome, Refused, Request, Stores,
};
use slipway_core::flow::Project;
use slipway_core::secrets::Secrets;

use crate::{EXIT_FAILED, EXIT_PASSED};

/// Exit code when the gate (or an earlier deploy of the commit) refuses:
/// nothing was sent.
pub const EXIT_REFUSED: u8 = 4;

pub struct Args {
    pub trigger: Option<String>,
    pub sha: Option<String>,
    pub force: bool,
    pub again: bool,
    pub json: bool,
}

pub async fn run(dir: &Path, args: Args) -> Result<u8, Problem> {
    let pipeline = slipway_core::project::pipeline(dir).map_err(|e| e.problem())?;
    // The trigger is checked before anything is asked of GitHub.
    deploy::pick_trigger(&pipeline, args.trigger.as_deref()).map_err(|problem| {
        match args.trigger.is_none() && pipeline.deploys.len() > 1 {
            true => {
                let names: Vec<&str> = pipeline.deploys.iter().map(|d| d.name.as_str()).collect();
                problem.with_hint(format!("Name one with --trigger: {}.", names.join(", ")))
            }
            false => problem,
        }
    })?;
    let accounts = AccountStore::open_default()?;
    let project = Project::open(&pipeline.root, &accounts).await?;
    let request = Request {
        trigger: args.trigger,
        sha: args.sha,
        force: args.force,
        again: args.again,
        origin: Origin::Cli,
    };
    let json = args.json;
    let stores = Stores {
        secrets: &Secrets::os(),
        accounts: &accounts,
        history: None,
    };
    // Ctrl-C ends the command as before; nothing else stops a deploy.
    let cancel = tokio_util::sync::CancellationToken::new();
    let outcome = deploy::deploy(&project, &pipeline, &request, stores, &cancel, |step| {
        if !json {
            eprintln!("{step}…");
        }
    })
    .await?;
    match outcome {
        Outcome::Refused(refused) => {
            crate::render::problem(&refusal(&refused), json);
            Ok(EXIT_REFUSED)
        }
        Outcome::Sent(record) => {
            if json {
                out!("{}", serde_json::to_string(&record).unwrap_or_default());
            } else {
                show(&record);
            }
            Ok(if record.state == DeployState::Succeeded {
                EXIT_PASSED
            } else {
                EXIT_FAILED
            })
        }
    }
}

/// A refusal with what to do about it from the terminal.
pub fn refusal(refused: &Refused) -> Problem {
    let hint = match refused {
        Refused::Gate(GateRefusal::NotTip { tip, branch, .. }) => {
            let short = slipway_core::git::short_sha(tip);
            format!("Deploy {short}, the tip of {branch}; or merge the commit into {branch} first.")
        }
        Refused::Gate(GateRefusal::NoChecks { .. } | GateRefusal::Pending { .. }) => {
            "Wait for the checks to pass (`slipway pr watch` follows them), or deploy anyway with --force.".into()
        }
        Refused::Gate(GateRefusal::Red { .. }) => {
            "Fix the failing checks and merge the fix; or deploy anyway with --force.".into()
        }
        Refused::AlreadyDeployed(_) => {
            "To deploy it again, ask for it explicitly with --again.".into()
        }
        Refused::InFlight(_) => {
            "Wait for it to finish: `slipway deploys` shows how it ended.".into()
        }
    };
    refused.problem().with_hint(hint)
}

pub fn show(record: &DeployRecord) {
    let short = slipway_core::git::short_sha(&record.sha);
    let detail = record.detail.as_deref().unwrap_or_default();
    match record.state {
        DeployState::Succeeded => out!(
            "deployed {short} ({}) via {}: {detail}",
            record.branch,
            record.trigger
        ),
        DeployState::Failed => out!("deploy of {short} via {} failed: {detail}", record.trigger),
        DeployState::Unknown => out!(
            "deploy of {short} via {}: outcome unknown ({detail}); check the service, then `--again` if it did not start",
            record.trigger
        ),
        DeployState::Firing => out!("deploying {short} via {}", record.trigger),
    }
    if let Some(forced) = &record.forced {
        out!("  {forced}");
    }
}

pub fn list(project: Option<String>, limit: usize, json: bool) -> Result<u8, Problem> {
    let history = slipway_core::store::History::open_default()?;
    let deploys = history.deploys(limit, project.as_deref())?;
    if json {
        out!(
            "{}",
            serde_json::to_string_pretty(&deploys).unwrap_or_default()
        );
        return Ok(EXIT_PASSED);
    }
    if deploys.is_empty() {
        out!("no deploys yet");
    }
    for d in &deploys {
        let state = match d.state {
            DeployState::Succeeded => "succeeded",
            DeployState::Failed => "failed",
            DeployState::Unknown => "unknown",
            DeployState::Firing => "firing",
        };
        let origin = match d.origin {
            Origin::Cli => "cli",
            Origin::Click => "window",
            Origin::Tray => "tray",
            Origin::AfterMerge => "after merge",
        };
        out!(
            "#{:<4} {:<12} {:<10} {} {:<10} {:<9} {:<11}{}{}",
            d.id,
            d.project,
            d.trigger,
            slipway_core::git::short_sha(&d.sha),
            d.branch,
            state,
            origin,
            if d.attempt > 1 {
                format!(" (again, #{})", d.attempt)
            } else {
                String::new()
            },
            if d.forced.is_some() { " (forced)" } else { "" }
        );
    }
    Ok(EXIT_PASSED)
}
