//! Slipway's desktop app: a Tauri shell over `slipway-core`.
//!
//! It owns windows, the tray, notifications and the user's preferences.
//! Every command is a thin wrapper over the core ([`commands`]); runs are
//! owned by one task each ([`session`]), which publish their start and end
//! ([`news`]) for the tray and notifications to follow. [`flow`] holds the
//! GitHub flow's commands and [`pulls`] watches the open pull requests;
//! [`delivery`] deploys from the window and the tray, and [`publish`]
//! pushes the built image to its registry.
//! Nothing here builds,
//! runs or tests containers itself.

mod commands;
mod delivery;
mod flow;
pub mod news;
mod notify;
mod publish;
mod pulls;
mod radar;
pub mod session;
mod settings;
mod tray;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use slipway_core::project::ProjectInfo;
use slipway_core::{ErrorCode, Problem};
use tauri::webview::PageLoadEvent;
use tauri::{AppHandle, Manager, WindowEvent};
use tauri_plugin_window_state::StateFlags;

use settings::{RecentProjects, Settings};

/// The commands and events the web view sees, for the invoke handler and
/// for the generated TypeScript bindings.
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(tauri_specta::collect_commands![
            commands::engine_status,
            commands::projects_list,
            commands::project_add,
            commands::project_remove,
            commands::project_inspect,
            commands::import_preview,
            commands::import_save,
            commands::run_start,
            commands::run_at,
            commands::run_attach,
            commands::run_log,
            commands::run_log_search,
            commands::run_cancel,
            commands::run_approve,
            commands::run_step_log,
            commands::runs_active,
            commands::history_list,
            commands::history_run,
            commands::containers_list,
            commands::container_stop,
            commands::settings_get,
            commands::settings_set,
            commands::ui_painted,
            commands::window_close,
            commands::accounts_list,
            commands::account_login_github,
            commands::account_serve_git,
            commands::account_login_registry,
            commands::account_login_circleci,
            commands::account_logout,
            commands::accounts_endpoints_set,
            flow::flow_status,
            flow::branch_create,
            flow::branch_switch_default,
            flow::pr_open,
            flow::pr_merge,
            flow::pr_arm,
            flow::pr_why_failed,
            radar::radar_branches,
            flow::pr_rerun,
            flow::pulls_open,
            delivery::deploy_status,
            delivery::deploy_fire,
            delivery::deploys_list,
            publish::push_plan,
            publish::push_image,
            commands::doctor_checks,
            commands::runs_last,
            commands::about,
        ])
        .events(tauri_specta::collect_events![
            news::RunStarted,
            news::RunFinished,
            news::Navigate,
            news::PullChanged,
            news::BranchesChanged,
            news::DeployChanged,
            news::FlowProgress
        ])
        .dangerously_cast_bigints_to_number()
}

/// Renders the TypeScript bindings (`ui/src/lib/bindings.ts`).
pub fn export_bindings(path: &Path) -> Result<(), String> {
    specta_builder()
        .export(
            specta_typescript::Typescript::default().header("// Generated from Rust by `cargo test -p slipway-desktop`; do not edit.\n// @ts-nocheck\n"),
            path,
        )
        .map_err(|e| e.to_string())
}

/// Preferences and recent projects, persisted in the config folder.
#[derive(Debug)]
pub struct AppState {
    dir: PathBuf,
    settings: Mutex<Settings>,
    recent: Mutex<RecentProjects>,
}

impl AppState {
    fn load(dir: PathBuf) -> Self {
        AppState {
            settings: Mutex::new(settings::load(&dir.join("settings.json"))),
            recent: Mutex::new(settings::load(
                &dir.join(slipway_core::project::RECENT_FILE),
            )),
            dir,
        }
    }

    /// The current preferences.
    pub fn settings(&self) -> Settings {
        self.settings.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn save_settings(&self, new: Settings) -> Result<Settings, Problem> {
        settings::save(&self.dir.join("settings.json"), &new)?;
        if let Ok(mut s) = self.settings.lock() {
            *s = new.clone();
        }
        Ok(new)
    }

    /// Recent project folders, most recent first.
    pub fn recent_paths(&self) -> Vec<PathBuf> {
        self.recent
            .lock()
            .map(|r| r.paths.clone())
            .unwrap_or_default()
    }

    fn update_recent(&self, change: impl FnOnce(&mut RecentProjects)) -> Result<(), Problem> {
        let snapshot = {
            let mut recent = self
                .recent
                .lock()
                .map_err(|_| Problem::new(ErrorCode::Io, "project list unavailable"))?;
            change(&mut recent);
            recent.clone()
        };
        settings::save(
            &self.dir.join(slipway_core::project::RECENT_FILE),
            &snapshot,
        )
    }

    fn touch_project(&self, path: &Path) -> Result<(), Problem> {
        self.update_recent(|r| r.touch(path))
    }

    fn forget_project(&self, path: &Path) -> Result<(), Problem> {
        self.update_recent(|r| r.remove(path))
    }

    /// Checks that `path` is a project the user added (the web view may only
    /// name folders chosen in the native dialog).
    fn known_project(&self, path: &str) -> Result<PathBuf, Problem> {
        let path = PathBuf::from(path);
        if self.recent_paths().contains(&path) {
            Ok(path)
        } else {
            Err(Problem::new(
                ErrorCode::BadConfig,
                format!("{} is not one of your projects", path.display()),
            )
            .with_hint("Add the folder with “Add project” first."))
        }
    }
}

/// The page's first data, handed to it as it loads (`window.__SLIPWAY_BOOT__`,
/// read by `ui/src/lib/boot.ts`), so its first paint waits for no IPC round
/// trip: the settings and the recent projects, inspected from their files.
fn boot_script(state: &AppState) -> String {
    #[derive(serde::Serialize)]
    struct Boot {
        /// When it was made (ms since the Unix epoch): a reload much later
        /// asks again instead.
        at: u128,
        settings: Settings,
        projects: Vec<ProjectInfo>,
    }
    let boot = Boot {
        at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis()),
        settings: state.settings(),
        projects: recent_projects(state),
    };
    match serde_json::to_string(&boot) {
        Ok(json) => format!("window.__SLIPWAY_BOOT__ = {json};"),
        Err(e) => {
            tracing::warn!(error = %e, "the page will ask for its first data");
            String::new()
        }
    }
}

/// The recent projects, inspected from their files.
fn recent_projects(state: &AppState) -> Vec<ProjectInfo> {
    state
        .recent_paths()
        .iter()
        .map(|p| inspect_or_describe(p))
        .collect()
}

/// What a recent project holds, or why its folder cannot be read.
fn inspect_or_describe(path: &Path) -> ProjectInfo {
    match slipway_core::project::inspect_now(path) {
        Ok(info) => info,
        Err(problem) => ProjectInfo {
            path: path.to_path_buf(),
            name: slipway_core::config::default_name(path),
            has_dockerfile: false,
            has_pipeline_file: false,
            imported_from: None,
            image: None,
            steps: Vec::new(),
            problem: Some(problem),
            git_branch: None,
            git_remote: None,
            github: None,
            workflow: None,
        },
    }
}

/// Whether the main window has been shown since the app started.
static REVEALED: AtomicBool = AtomicBool::new(false);

/// How long the window waits, hidden, for its page to load.
const REVEAL_AT_THE_LATEST: Duration = Duration::from_secs(3);

/// Shows the main window the first time its page has loaded.
///
/// WebKitGTK's first paint of a window waits for the web process to answer,
/// and a web process still starting can be waiting for the app in turn.
/// Once the page has loaded, the web process answers at once and the window
/// appears drawn. A reload later does not show a window the user has hidden.
fn reveal_once(app: &AppHandle) -> bool {
    let first = !REVEALED.swap(true, Ordering::SeqCst);
    if first {
        show_window(app);
    }
    first
}

/// Shows the main window after [`REVEAL_AT_THE_LATEST`] if its page has
/// not loaded by then, so a page that never loads is not hidden.
fn reveal_at_the_latest(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(REVEAL_AT_THE_LATEST).await;
        let handle = app.clone();
        let _ = app.run_on_main_thread(move || {
            if reveal_once(&handle) {
                tracing::warn!("the page has not loaded; showing the window anyway");
            }
        });
    });
}

/// Finishes runs whose process is gone (their containers removed, their
/// history marked interrupted), and says so once in a notification.
fn recover_at_start(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let engine = tokio::time::timeout(
            Duration::from_secs(5),
            slipway_core::engine::Engine::connect(),
        )
        .await
        .ok()
        .and_then(Result::ok);
        let recovered = slipway_core::recover::recover(engine.as_ref(), None).await;
        if let Some(summary) = recovered.summary() {
            tracing::info!("{summary}");
            app.state::<news::NewsBus>()
                .publish(news::RunNews::Deploy(news::DeployNews {
                    path: PathBuf::new(),
                    title: "Slipway finished interrupted runs".into(),
                    body: summary,
                }));
        }
    });
}

/// The argument the login item starts Slipway with: in the tray, no window.
const IN_TRAY_ARG: &str = "--in-tray";

/// Turns the login item (an XDG autostart entry on Linux) on or off.
pub fn start_at_login(app: &AppHandle, on: bool) -> Result<(), Problem> {
    use tauri_plugin_autostart::ManagerExt;
    let launcher = app.autolaunch();
    let done = match on {
        true => launcher.enable(),
        false => launcher.disable(),
    };
    done.map_err(|e| {
        Problem::new(
            ErrorCode::Io,
            format!(
                "Slipway could not {} starting at login: {e}",
                if on { "turn on" } else { "turn off" }
            ),
        )
        .with_hint("Check that ~/.config/autostart can be written.")
    })
}

/// Shows and focuses the main window.
pub fn show_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// The config folder the CLI uses too; settings and recent projects an
/// older app kept in its own folder are brought over once.
fn config_dir(app: &AppHandle) -> PathBuf {
    let dir = slipway_core::paths::config_dir().unwrap_or_else(|| PathBuf::from(".slipway"));
    if std::env::var_os(slipway_core::paths::CONFIG_DIR_ENV).is_none()
        && let Ok(old) = app.path().app_config_dir()
    {
        settings::adopt_old_files(&old, &dir);
    }
    dir
}

/// Runs the app's async work (pipelines, their logs, history) on worker
/// threads that yield to the window: on Linux at a lower priority (nice 10)
/// than the main thread and WebKit, so a run that saturates the machine
/// slows its own log handling a little instead of the window's frames.
fn background_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("slipway-worker")
        .on_thread_start(|| {
            // On Linux a thread id names one thread: this lowers only this one.
            #[cfg(target_os = "linux")]
            if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10)
            {
                tracing::debug!(error = %e, "could not lower a worker's priority");
            }
        })
        .build();
    match runtime {
        Ok(runtime) => {
            // Tauri keeps the handle; the runtime must outlive the app.
            let runtime = Box::leak(Box::new(runtime));
            tauri::async_runtime::set(runtime.handle().clone());
        }
        Err(e) => tracing::warn!(error = %e, "using the default runtime"),
    }
}

/// Starts the desktop app.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(slipway_core::logging::filter())
        .with_writer(std::io::stderr)
        .init();
    background_runtime();
    let builder = specta_builder();
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            show_window(app)
        }))
        // The window's size and place are remembered; whether it shows is
        // Slipway's call (below), not the last session's.
        .plugin(
            tauri_plugin_window_state::Builder::default()
                .with_state_flags(StateFlags::all() - StateFlags::VISIBLE)
                .build(),
        )
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(
            tauri_plugin_autostart::Builder::new()
                .args([IN_TRAY_ARG])
                .build(),
        )
        .invoke_handler(builder.invoke_handler())
        .on_page_load(|webview, load| match load.event() {
            PageLoadEvent::Started if commands::startup_probe() => {
                eprintln!("SLIPWAY_PAGE_STARTED");
            }
            PageLoadEvent::Finished => {
                reveal_once(webview.app_handle());
            }
            _ => {}
        })
        .setup(move |app| {
            builder.mount_events(app);
            // Started at login: in the tray, the window shown when asked.
            if std::env::args().any(|a| a == IN_TRAY_ARG) {
                REVEALED.store(true, Ordering::SeqCst);
            }
            app.manage(AppState::load(config_dir(app.handle())));
            // The window is made here, not from the config, to hand the page
            // its first data (`create: false` in tauri.conf.json).
            let boot = boot_script(&app.state::<AppState>());
            if let Some(config) = app.config().app.windows.iter().find(|w| w.label == "main") {
                tauri::WebviewWindowBuilder::from_config(app.handle(), config)?
                    .initialization_script(boot)
                    .build()?;
                reveal_at_the_latest(app.handle());
            }
            app.manage(news::NewsBus::default());
            app.manage(session::Sessions::default());
            app.manage(notify::Targets::default());
            notify::listen_for_clicks(app.handle());
            notify::follow_runs(app.handle());
            tray::create(app.handle())?;
            tray::follow_runs(app.handle());
            tray::remember_last_results(app.handle());
            let watcher = pulls::watcher(app.handle())?;
            app.manage(radar::radar(app.handle(), watcher.budget()));
            app.manage(watcher);
            app.manage(publish::Pushing::default());
            pulls::start(app.handle());
            recover_at_start(app.handle());
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event
                && window
                    .app_handle()
                    .state::<AppState>()
                    .settings()
                    .keep_in_tray
            {
                api.prevent_close();
                let _ = window.hide();
            }
        })
        .build(tauri::generate_context!());
    match app {
        Ok(app) => app.run(|_, _| {}),
        Err(e) => {
            eprintln!("error: Slipway could not start: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn typescript_bindings_are_current() {
        let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/bindings.ts");
        let fresh = tempfile::NamedTempFile::new().unwrap();
        super::export_bindings(fresh.path()).unwrap();
        let fresh_text = std::fs::read_to_string(fresh.path()).unwrap();
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::write(&committed, &fresh_text).unwrap();
        }
        let committed_text = std::fs::read_to_string(&committed).unwrap_or_default();
        assert!(
            committed_text == fresh_text,
            "ui/src/lib/bindings.ts is stale: run `UPDATE_BINDINGS=1 cargo test -p slipway-desktop bindings`"
        );
    }

    use std::path::Path;

    #[test]
    fn only_added_folders_are_accepted_from_the_web_view() {
        let dir = tempfile::tempdir().unwrap();
        let state = super::AppState::load(dir.path().join("config"));
        let project = dir.path().canonicalize().unwrap();
        let err = state
            .known_project(&project.display().to_string())
            .unwrap_err();
        assert_eq!(err.code, slipway_core::ErrorCode::BadConfig);
        assert!(err.message.contains("not one of your projects"));
        state.touch_project(&project).unwrap();
        assert_eq!(
            state.known_project(&project.display().to_string()).unwrap(),
            project
        );
        // The list survives a restart.
        let again = super::AppState::load(dir.path().join("config"));
        assert_eq!(again.recent_paths(), vec![project.clone()]);
        again.forget_project(&project).unwrap();
        assert!(again.known_project(&project.display().to_string()).is_err());
    }
}
