//! The window's branch radar: the core's [`Radar`] worded for the app.
//! Changes go to the web view as [`BranchesChanged`] and to the tray and
//! notifications as [`BranchNews`].

use std::path::PathBuf;

use serde::Serialize;
use slipway_core::Problem;
use slipway_core::flow::budget::Budget;
use slipway_core::radar::{BranchView, Radar};
use tauri::{AppHandle, Manager, State};
use tauri_specta::Event as _;

use crate::AppState;
use crate::news::{BranchNews, BranchesChanged, NewsBus, RunNews};

/// The radar of the app's projects, within `budget` (the one its followed
/// pull requests share), telling `app`.
pub fn radar(app: &AppHandle, budget: Budget) -> Radar {
    let app = app.clone();
    Radar::new(budget, move |event| {
        let changed = BranchesChanged {
            path: event.path.clone(),
            branches: event.branches.clone(),
        };
        if let Err(e) = changed.emit(&app) {
            tracing::debug!(error = %e, "no window to tell of a branch");
        }
        app.state::<NewsBus>()
            .publish(RunNews::Branch(Box::new(BranchNews {
                project: slipway_core::config::default_name(&event.path),
                path: event.path,
                branches: event.branches,
                transition: event.transition,
            })));
    })
}

/// A project's followed branches.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ProjectBranches {
    /// Project folder.
    pub path: PathBuf,
    /// Its default branch, then its checked-out one when another.
    pub branches: Vec<BranchView>,
}

/// The followed branches of every added project, as last seen.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, radar))]
pub fn radar_branches(
    state: State<'_, AppState>,
    radar: State<'_, Radar>,
) -> Result<Vec<ProjectBranches>, Problem> {
    Ok(state
        .recent_paths()
        .into_iter()
        .map(|path| ProjectBranches {
            branches: radar.branches(&path),
            path,
        })
        .filter(|p| !p.branches.is_empty())
        .collect())
}
