//! The tray icon: its picture shows idle, running, passed or failed, the
//! worst of the last run and the watched pull requests (it follows the
//! news); its menu runs a recent project's pipeline, deploys it when the
//! gate allows, opens the window, or quits.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use slipway_core::flow::follow::PullView;
use slipway_core::github::checks::CheckState;
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};
use tauri_specta::Event as _;

use slipway_core::event::Outcome;

use crate::news::{BranchNews, Navigate, NewsBus, PullNews, RunNews};
use crate::session::Sessions;

const TRAY_ID: &str = "slipway";
/// Recent projects listed in the menu.
const MENU_PROJECTS: usize = 8;

/// What the tray icon shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayState {
    /// Nothing has run yet.
    Idle,
    /// A run is in progress.
    Running,
    /// The last run passed.
    Passed,
    /// The last run failed.
    Failed,
}

fn icon(state: TrayState) -> Option<Image<'static>> {
    let bytes: &'static [u8] = match state {
        TrayState::Idle => include_bytes!("../../icons/tray-idle.png"),
        TrayState::Running => include_bytes!("../../icons/tray-running.png"),
        TrayState::Passed => include_bytes!("../../icons/tray-passed.png"),
        TrayState::Failed => include_bytes!("../../icons/tray-failed.png"),
    };
    Image::from_bytes(bytes).ok()
}

/// Creates the tray icon.
pub fn create(app: &AppHandle) -> tauri::Result<()> {
    let menu = build_menu(app)?;
    let mut builder = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("Slipway")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()));
    if let Some(image) = icon(TrayState::Idle) {
        builder = builder.icon(image);
    }
    if let Ok(dir) = app.path().app_cache_dir() {
        builder = builder.temp_dir_path(dir.join("tray"));
    }
    builder.build(app)?;
    Ok(())
}

fn build_menu<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<Menu<R>> {
    let menu = Menu::new(app)?;
    let recent = app.state::<crate::AppState>().recent_paths();
    for path in recent.iter().take(MENU_PROJECTS) {
        let name = slipway_core::config::default_name(path);
        let shown = path.display().to_string();
        let run = MenuItem::with_id(
            app,
            format!("run:{shown}"),
            "Run pipeline",
            true,
            None::<&str>,
        )?;
        let open = MenuItem::with_id(
            app,
            format!("open:{shown}"),
            "Show in Slipway",
            true,
            None::<&str>,
        )?;
        let deploy = MenuItem::with_id(
            app,
            format!("deploy:{shown}"),
            "Deploy (when green)",
            has_deploy_trigger(path),
            None::<&str>,
        )?;
        let sub = Submenu::with_items(app, name, true, &[&run, &deploy, &open])?;
        menu.append(&sub)?;
    }
    if !recent.is_empty() {
        menu.append(&PredefinedMenuItem::separator(app)?)?;
    }
    menu.append(&MenuItem::with_id(
        app,
        "show",
        "Open Slipway",
        true,
        None::<&str>,
    )?)?;
    menu.append(&MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?)?;
    Ok(menu)
}

/// Whether the project's pipeline declares a deploy trigger.
fn has_deploy_trigger(path: &std::path::Path) -> bool {
    slipway_core::project::pipeline(path).is_ok_and(|p| !p.deploys.is_empty())
}

/// Rebuilds the menu after the recent projects changed.
pub fn refresh_menu(app: &AppHandle) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    match build_menu(app) {
        Ok(menu) => {
            if let Err(e) = tray.set_menu(Some(menu)) {
                tracing::warn!(error = %e, "could not update the tray menu");
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not build the tray menu"),
    }
}

fn on_menu(app: &AppHandle, id: &str) {
    if id == "quit" {
        app.exit(0);
    } else if id == "show" {
        crate::show_window(app);
    } else if let Some(path) = id.strip_prefix("open:") {
        crate::show_window(app);
        let _ = Navigate {
            path: path.into(),
            run_id: None,
            seq: None,
        }
        .emit(app);
    } else if let Some(path) = id.strip_prefix("deploy:") {
        // The gate decides, as for the window's button; the result is notified.
        let app = app.clone();
        let path = std::path::PathBuf::from(path);
        tauri::async_runtime::spawn(async move {
            let request = slipway_core::deploy::Request {
                trigger: None,
                sha: None,
                force: false,
                again: false,
                origin: slipway_core::deploy::Origin::Tray,
            };
            if let Err(problem) = crate::delivery::fire(&app, &path, request).await {
                let name = slipway_core::config::default_name(&path);
                crate::notify::problem(&app, &name, &problem);
            }
        });
    } else if let Some(path) = id.strip_prefix("run:") {
        let app = app.clone();
        let path = std::path::PathBuf::from(path);
        tauri::async_runtime::spawn(async move {
            if let Err(problem) = crate::session::start(&app, path.clone()).await {
                crate::notify::problem(&app, &slipway_core::config::default_name(&path), &problem);
            }
        });
    }
}

/// What the icon sums up: the last local run and each watched pull request.
#[derive(Debug, Default)]
pub struct TrayStatus {
    local: Option<TrayState>,
    pulls: BTreeMap<PathBuf, (TrayState, String)>,
    /// Each project's default branch.
    branches: BTreeMap<PathBuf, (TrayState, String)>,
}

impl TrayStatus {
    /// The worst of everything: a failure, else something running, else
    /// a pass, else idle.
    fn shown(&self) -> TrayState {
        self.local
            .into_iter()
            .chain(self.pulls.values().map(|(s, _)| *s))
            .chain(self.branches.values().map(|(s, _)| *s))
            .max_by_key(|s| rank(*s))
            .unwrap_or(TrayState::Idle)
    }

    /// The tooltip: the state, then a line per watched pull request.
    fn tooltip(&self) -> String {
        let mut text = match self.shown() {
            TrayState::Idle => "Slipway",
            TrayState::Running => "Slipway: running",
            TrayState::Passed => "Slipway: passed",
            TrayState::Failed => "Slipway: failed",
        }
        .to_string();
        for (_, line) in self.branches.values().chain(self.pulls.values()) {
            text.push('\n');
            text.push_str(line);
        }
        text
    }

    fn branch(&mut self, news: &BranchNews) {
        let Some((branch, state)) = news
            .branches
            .iter()
            .find(|b| b.default)
            .and_then(|b| Some((b, b.state()?)))
        else {
            self.branches.remove(&news.path);
            return;
        };
        let (shown, word) = match state {
            CheckState::Pending => (TrayState::Running, "checks running"),
            CheckState::Success => (TrayState::Passed, "checks passed"),
            CheckState::Failure => (TrayState::Failed, "checks failed"),
        };
        self.branches.insert(
            news.path.clone(),
            (shown, format!("{} {}: {word}", news.project, branch.branch)),
        );
    }

    fn pull(&mut self, news: &PullNews) {
        match news.view.state() {
            None => {
                self.pulls.remove(&news.path);
            }
            Some(state) => {
                let shown = match state {
                    CheckState::Pending => TrayState::Running,
                    CheckState::Success => TrayState::Passed,
                    CheckState::Failure => TrayState::Failed,
                };
                self.pulls.insert(
                    news.path.clone(),
                    (shown, pull_line(&news.project, &news.view)),
                );
            }
        }
    }
}

fn rank(state: TrayState) -> u8 {
    match state {
        TrayState::Idle => 0,
        TrayState::Passed => 1,
        TrayState::Running => 2,
        TrayState::Failed => 3,
    }
}

/// `cities #12: checks running, merges when green`.
pub fn pull_line(project: &str, view: &PullView) -> String {
    let state = match view.state() {
        None => "closed",
        Some(CheckState::Pending) => "checks running",
        Some(CheckState::Success) => "checks passed",
        Some(CheckState::Failure) => "checks failed",
    };
    let armed = if view.armed.is_some() {
        ", merges when green"
    } else {
        ""
    };
    format!("{project} #{}: {state}{armed}", view.pull.number)
}

/// Makes the icon follow the runs and the watched pull requests: the worst
/// of the last local result and the pull requests' checks.
pub fn follow_runs(app: &AppHandle) {
    app.manage(Mutex::new(TrayStatus::default()));
    let handle = app.clone();
    app.state::<NewsBus>().follow(move |news| {
        let status = handle.state::<Mutex<TrayStatus>>();
        let Ok(mut status) = status.lock() else {
            return;
        };
        match news {
            RunNews::Started(_) => status.local = Some(TrayState::Running),
            RunNews::Finished(result) => {
                if !handle.state::<Sessions>().any_undecided() {
                    status.local = Some(if matches!(result.outcome, Outcome::Passed) {
                        TrayState::Passed
                    } else {
                        TrayState::Failed
                    });
                }
            }
            RunNews::Pull(news) => status.pull(&news),
            RunNews::Branch(news) => status.branch(&news),
            RunNews::Deploy(_) => return,
        }
        show(&handle, &status);
    });
}

/// Until a run says otherwise, the icon shows the worst of the added
/// projects' last results, as the history kept them.
pub fn remember_last_results(app: &AppHandle) {
    use slipway_core::store::{History, RunResult};
    let paths = app.state::<crate::AppState>().recent_paths();
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        let last = tokio::task::spawn_blocking(move || {
            let history = History::open_default().ok()?;
            paths
                .iter()
                .filter_map(|p| history.last_finished(p).ok().flatten())
                .map(|run| match run.result {
                    RunResult::Passed => TrayState::Passed,
                    RunResult::Cancelled => TrayState::Idle,
                    _ => TrayState::Failed,
                })
                .max_by_key(|s| rank(*s))
        })
        .await
        .ok()
        .flatten();
        let status = handle.state::<Mutex<TrayStatus>>();
        let Ok(mut status) = status.lock() else {
            return;
        };
        if status.local.is_none() && last.is_some_and(|s| s != TrayState::Idle) {
            status.local = last;
            show(&handle, &status);
        }
    });
}

/// Shows the summed-up state in the tray.
fn show(app: &AppHandle, status: &TrayStatus) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    if let Err(e) = tray.set_icon(icon(status.shown())) {
        tracing::warn!(error = %e, "could not change the tray icon");
    }
    let _ = tray.set_tooltip(Some(status.tooltip()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_icon_shows_the_worst_state() {
        let mut status = TrayStatus::default();
        assert_eq!(status.shown(), TrayState::Idle);
        status.local = Some(TrayState::Passed);
        assert_eq!(status.shown(), TrayState::Passed);
        status.pulls.insert(
            "a".into(),
            (TrayState::Running, "a #1: checks running".into()),
        );
        assert_eq!(status.shown(), TrayState::Running);
        status.pulls.insert(
            "b".into(),
            (TrayState::Failed, "b #2: checks failed".into()),
        );
        assert_eq!(status.shown(), TrayState::Failed);
        assert_eq!(
            status.tooltip(),
            "Slipway: failed\na #1: checks running\nb #2: checks failed"
        );
    }

    #[test]
    fn a_red_default_branch_makes_the_icon_red() {
        use slipway_core::github::GithubRepo;
        use slipway_core::github::checks::ChecksRollup;
        use slipway_core::radar::BranchView;
        let branch = |state| BranchView {
            repo: GithubRepo {
                host: "github.com".into(),
                owner: "octo".into(),
                name: "cities".into(),
            },
            branch: "master".into(),
            default: true,
            sha: Some("abc".into()),
            checks: Some(ChecksRollup {
                sha: "abc".into(),
                state,
                checks: Vec::new(),
            }),
        };
        let news = |state| BranchNews {
            path: "/p/cities".into(),
            project: "cities".into(),
            branches: vec![branch(state)],
            transition: None,
        };
        let mut status = TrayStatus {
            local: Some(TrayState::Passed),
            ..Default::default()
        };
        status.branch(&news(CheckState::Failure));
        assert_eq!(status.shown(), TrayState::Failed);
        assert_eq!(
            status.tooltip(),
            "Slipway: failed\ncities master: checks failed"
        );
        status.branch(&news(CheckState::Success));
        assert_eq!(status.shown(), TrayState::Passed);
    }
}
