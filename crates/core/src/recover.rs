//! Crash recovery: a run whose process is gone (`kill -9`, a crash, the
//! machine losing power) is finished by the next command or app start: its
//! containers are removed and its history row says it was interrupted, at
//! the step it had reached. A deploy left firing by a gone process is marked
//! unknown (its request may or may not have arrived), so it can be sent
//! again. Runs and deploys going on in another process are left alone.

use serde::Serialize;

use crate::engine::Engine;
use std::path::PathBuf;

use crate::store::deploys::DeployRecord;
use crate::store::{History, Interrupted};

/// What recovery found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Recovered {
    /// Runs marked interrupted.
    pub runs: Vec<Interrupted>,
    /// Deploys left firing, now unknown.
    pub deploys: Vec<DeployRecord>,
    /// Containers of gone processes that were removed.
    pub containers: Vec<String>,
}

impl Recovered {
    /// The sentence telling the user, when there is anything to tell.
    pub fn summary(&self) -> Option<String> {
        let deploys = self.deploys.iter().map(|d| {
            format!(
                "the deploy of {} via {} ({}) was interrupted: its outcome is unknown",
                crate::git::short_sha(&d.sha),
                d.trigger,
                d.project
            )
        });
        let deploys: Vec<String> = deploys.collect();
        let runs = self.runs_summary();
        match (runs, deploys.is_empty()) {
            (None, true) => None,
            (Some(runs), true) => Some(runs),
            (None, false) => Some(deploys.join("; ")),
            (Some(runs), false) => Some(format!("{runs}; {}", deploys.join("; "))),
        }
    }

    fn runs_summary(&self) -> Option<String> {
        if self.runs.is_empty() && self.containers.is_empty() {
            return None;
        }
        let runs = self
            .runs
            .iter()
            .map(|r| match &r.step {
                Some(step) => format!("run #{} of {} (during {step})", r.seq, r.project),
                None => format!("run #{} of {}", r.seq, r.project),
            })
            .collect::<Vec<_>>();
        let mut text = match runs.len() {
            0 => "containers of an interrupted run".to_string(),
            _ => format!("{} was interrupted", runs.join(", ")),
        };
        if !self.containers.is_empty() {
            text.push_str(&format!(
                "; removed {} container{} it left ({})",
                self.containers.len(),
                if self.containers.len() == 1 { "" } else { "s" },
                self.containers.join(", ")
            ));
        }
        Some(text)
    }
}

/// Finishes orphaned runs: marks them interrupted in the history at
/// `history` (`None`: the user's) and removes their containers from
/// `engine`, and those of runs whose cleanup could not reach the engine. A
/// container of a gone process whose run finished was kept on purpose (the
/// cleanup policy) and stays. Failures are logged, never
/// raised: recovery must not stop the command that runs it.
pub async fn recover(engine: Option<&Engine>, history: Option<PathBuf>) -> Recovered {
    let mut recovered = Recovered::default();
    let open = move || match &history {
        Some(path) => History::open(path),
        None => History::open_default(),
    };
    let open = std::sync::Arc::new(open);
    let opener = open.clone();
    let found = tokio::task::spawn_blocking(move || {
        let history = opener()?;
        Ok::<_, crate::store::HistoryError>((
            history.interrupt_orphans()?,
            history.interrupt_deploys()?,
        ))
    })
    .await;
    match found {
        Ok(Ok((runs, deploys))) => {
            recovered.runs = runs;
            recovered.deploys = deploys;
        }
        // The command says so itself when it needs the history.
        Ok(Err(e)) => tracing::debug!("could not look for interrupted runs: {e}"),
        Err(e) => tracing::warn!("could not look for interrupted runs: {e}"),
    }
    let Some(engine) = engine else {
        return recovered;
    };
    let candidates = match crate::pipeline::orphans(engine).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("could not look for containers of interrupted runs: {e}");
            return recovered;
        }
    };
    if candidates.is_empty() {
        return recovered;
    }
    let chosen = tokio::task::spawn_blocking(move || {
        let history = open().ok()?;
        Some(
            candidates
                .into_iter()
                .filter(|(_, _, run)| history.left_behind(run).unwrap_or(false))
                .collect::<Vec<_>>(),
        )
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_default();
    let mut runs: Vec<String> = Vec::new();
    for (id, name, run) in chosen {
        match crate::pipeline::remove_container(engine, &id).await {
            Ok(()) => recovered.containers.push(name),
            Err(e) => tracing::warn!("could not remove {name}, left by an interrupted run: {e}"),
        }
        if !runs.contains(&run) {
            runs.push(run);
        }
    }
    // The networks of their services, once their containers are gone.
    for run in runs {
        crate::pipeline::remove_networks_of(engine, &run).await;
    }
    recovered
}
