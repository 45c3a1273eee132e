//! The tray icon: its picture shows idle, running, passed or failed (it
//! follows the run news); its menu runs a recent project's pipeline, opens
//! the window, or quits.

use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};
use tauri_specta::Event as _;

use slipway_core::event::Outcome;

use crate::news::{Navigate, NewsBus, RunNews};
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
        let sub = Submenu::with_items(app, name, true, &[&run, &open])?;
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

/// Makes the icon follow the runs: running while one goes, then the result.
pub fn follow_runs(app: &AppHandle) {
    let handle = app.clone();
    app.state::<NewsBus>().follow(move |news| match news {
        RunNews::Started(_) => show_state(&handle, TrayState::Running),
        RunNews::Finished(result) => show_result(&handle, &result.outcome),
    });
}

/// Shows `state` in the tray.
fn show_state(app: &AppHandle, state: TrayState) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    if let Err(e) = tray.set_icon(icon(state)) {
        tracing::warn!(error = %e, "could not change the tray icon");
    }
    let tooltip = match state {
        TrayState::Idle => "Slipway",
        TrayState::Running => "Slipway: running",
        TrayState::Passed => "Slipway: passed",
        TrayState::Failed => "Slipway: failed",
    };
    let _ = tray.set_tooltip(Some(tooltip));
}

/// Shows the result of a run, unless another is still going.
fn show_result(app: &AppHandle, outcome: &Outcome) {
    if app.state::<Sessions>().any_running() {
        return;
    }
    show_state(
        app,
        if matches!(outcome, Outcome::Passed) {
            TrayState::Passed
        } else {
            TrayState::Failed
        },
    );
}
