//! The commands the web view may call. Each one checks its input, calls the
//! core, and maps failures to a `Problem` (`{code, message, hint}`); none
//! holds logic a CLI could not reuse.

use std::path::PathBuf;

use serde::Serialize;
use slipway_core::accounts::{Account, AccountKind, AccountStore, Accounts, Endpoints};
use slipway_core::event::RunId;
use slipway_core::pipeline::ContainerInfo;
use slipway_core::project::ProjectInfo;
use slipway_core::secrets::Secret;
use slipway_core::store::{History, LogRecord, RunRecord, StepRecord};
use slipway_core::{ErrorCode, Problem};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};

use crate::AppState;
use crate::session::{LogSlice, Pushed, Sessions};
use crate::settings::Settings;

/// A past run with its steps and log.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct RunDetails {
    /// The run.
    pub run: RunRecord,
    /// Its steps.
    pub steps: Vec<StepRecord>,
    /// Its log.
    pub logs: Vec<LogRecord>,
    /// Lines dropped from the middle of a very long log.
    pub dropped_lines: u64,
    /// A workflow run's job graph.
    pub workflow: Option<slipway_core::event::WorkflowInfo>,
    /// A workflow run's test cases, failures first.
    pub tests: Vec<slipway_core::store::TestCaseRecord>,
}

/// A run in progress.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ActiveRun {
    /// The run.
    pub run_id: RunId,
    /// Project folder.
    pub path: PathBuf,
}

/// Where the Docker engine is, or why it cannot be reached.
#[tauri::command]
#[specta::specta]
#[tracing::instrument]
pub async fn engine_status() -> Result<String, Problem> {
    let engine = slipway_core::engine::Engine::connect().await?;
    Ok(engine.endpoint().to_string())
}

/// The recent projects, inspected. Synchronous, so it answers on the main
/// thread with no hop to a worker: it reads a few files per project, and
/// the window's first paint waits for it.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn projects_list(state: State<'_, AppState>) -> Result<Vec<ProjectInfo>, Problem> {
    Ok(crate::recent_projects(&state))
}

/// Adds a folder the user chose and returns what it holds.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(app, state))]
pub async fn project_add(
    app: AppHandle,
    state: State<'_, AppState>,
    path: String,
) -> Result<ProjectInfo, Problem> {
    let path = slipway_core::project::check_folder(std::path::Path::new(&path))?;
    state.touch_project(&path)?;
    crate::tray::refresh_menu(&app);
    slipway_core::project::inspect(&path).await
}

/// Forgets a project (its folder is untouched).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(app, state))]
pub async fn project_remove(
    app: AppHandle,
    state: State<'_, AppState>,
    path: String,
) -> Result<(), Problem> {
    let path = state.known_project(&path)?;
    state.forget_project(&path)?;
    crate::tray::refresh_menu(&app);
    Ok(())
}

/// What a known project folder holds now.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn project_inspect(
    state: State<'_, AppState>,
    path: String,
) -> Result<ProjectInfo, Problem> {
    let path = state.known_project(&path)?;
    slipway_core::project::inspect(&path).await
}

/// The pipeline imported from a project's CircleCI config, as the
/// `slipway.toml` "Save as slipway.toml" would write, with what was not
/// imported.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn import_preview(
    state: State<'_, AppState>,
    path: String,
) -> Result<slipway_core::import::Imported, Problem> {
    imported(&state.known_project(&path)?)
}

/// The project's CircleCI config imported, checked as a pipeline.
fn imported(path: &std::path::Path) -> Result<slipway_core::import::Imported, Problem> {
    let imported = slipway_core::import::import(path)?.ok_or_else(|| {
        Problem::new(
            ErrorCode::NotFound,
            format!("{} has no CircleCI config", path.display()),
        )
    })?;
    slipway_core::import::pipeline(path, &imported)?;
    Ok(imported)
}

/// Saves the imported pipeline as the project's `slipway.toml` (never over
/// an existing one) and returns the project as it is now.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn import_save(state: State<'_, AppState>, path: String) -> Result<ProjectInfo, Problem> {
    let path = state.known_project(&path)?;
    let file = path.join(slipway_core::config::FILE_NAME);
    if file.exists() {
        return Err(Problem::new(
            ErrorCode::Conflict,
            format!("{} already exists", file.display()),
        )
        .with_hint("It is the pipeline that runs; edit it instead."));
    }
    let imported = imported(&path)?;
    slipway_core::paths::write_atomic(&file, imported.toml.as_bytes()).map_err(|e| {
        Problem::new(
            ErrorCode::Io,
            format!("cannot write {}: {e}", file.display()),
        )
        .with_hint("Check that the project folder is writable.")
    })?;
    slipway_core::project::inspect(&path).await
}

/// Starts a project's pipeline; returns the run id. Attach to see it.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(app, state))]
pub async fn run_start(
    app: AppHandle,
    state: State<'_, AppState>,
    path: String,
) -> Result<RunId, Problem> {
    let path = state.known_project(&path)?;
    state.touch_project(&path)?;
    crate::session::start(&app, path).await
}

/// Starts a project's pipeline as committed at `reference` (a pull
/// request's head, a branch, a SHA) in a temporary worktree; the working
/// tree is not touched. Returns the run id.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(app, state))]
pub async fn run_at(
    app: AppHandle,
    state: State<'_, AppState>,
    path: String,
    reference: String,
) -> Result<RunId, Problem> {
    let path = state.known_project(&path)?;
    crate::session::start_at(&app, path, &reference).await
}

/// Streams a run's events, past ones first, in batches.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(sessions, on_events))]
pub fn run_attach(
    sessions: State<'_, Sessions>,
    run_id: RunId,
    on_events: Channel<Vec<Pushed>>,
) -> Result<(), Problem> {
    sessions.attach(&run_id, on_events)
}

/// Most rows a window may ask for at once.
const LOG_ROWS_MAX: u32 = 2_000;
/// Most search hits returned (a live log holds 100,000 lines).
const LOG_HITS_MAX: usize = 100_000;

/// Lines of a run's live log: `count` from line `from` (numbered from the
/// start of the run), or the newest `count` when `from` is absent.
/// Synchronous, so it runs on the main thread: a copy of a few rows, never
/// behind the run's own work.
#[tauri::command]
#[specta::specta]
pub fn run_log(
    sessions: State<'_, Sessions>,
    run_id: RunId,
    from: Option<u64>,
    count: u32,
) -> Result<LogSlice, Problem> {
    if count > LOG_ROWS_MAX {
        return Err(Problem::new(
            ErrorCode::BadConfig,
            format!("count {count} is over the limit of {LOG_ROWS_MAX} rows"),
        ));
    }
    sessions.log_rows(&run_id, from, count as usize)
}

/// The newest lines of one step of a run's live log: a service's output,
/// shown on its own.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(sessions))]
pub fn run_step_log(
    sessions: State<'_, Sessions>,
    run_id: RunId,
    step: u32,
    count: u32,
) -> Result<Vec<slipway_core::livelog::LogRow>, Problem> {
    if count > LOG_ROWS_MAX {
        return Err(Problem::new(
            ErrorCode::BadConfig,
            format!("count {count} is over the limit of {LOG_ROWS_MAX} rows"),
        ));
    }
    sessions.step_log(&run_id, step as usize, count as usize)
}

/// Lines of a run's live log containing `query` (case and colour codes
/// ignored), by number.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(app, query))]
pub async fn run_log_search(
    app: AppHandle,
    run_id: RunId,
    query: String,
) -> Result<Vec<u64>, Problem> {
    tokio::task::spawn_blocking(move || {
        app.state::<Sessions>()
            .log_search(&run_id, &query, LOG_HITS_MAX)
    })
    .await
    .map_err(|e| Problem::new(ErrorCode::Io, format!("searching the log failed: {e}")))?
}

/// Cancels a run; it cleans up and reports `RunFinished`.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(sessions))]
pub fn run_cancel(sessions: State<'_, Sessions>, run_id: RunId) -> Result<(), Problem> {
    sessions.cancel(&run_id)
}

/// Approves (or refuses) a workflow run's approval job.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(sessions))]
pub fn run_approve(
    sessions: State<'_, Sessions>,
    run_id: RunId,
    job: String,
    approved: bool,
) -> Result<(), Problem> {
    sessions.approve(&run_id, &job, approved)
}

/// The runs in progress.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(sessions))]
pub fn runs_active(sessions: State<'_, Sessions>) -> Vec<ActiveRun> {
    sessions
        .list()
        .into_iter()
        .map(|(run_id, path)| ActiveRun { run_id, path })
        .collect()
}

async fn with_history<T: Send + 'static>(
    f: impl FnOnce(&History) -> Result<T, Problem> + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(move || {
        let history = History::open_default()?;
        f(&history)
    })
    .await
    .map_err(|e| {
        Problem::new(
            ErrorCode::History,
            format!("reading the history failed: {e}"),
        )
    })?
}

/// Past runs, newest first, optionally of one project.
#[tauri::command]
#[specta::specta]
#[tracing::instrument]
pub async fn history_list(project: Option<String>, limit: u32) -> Result<Vec<RunRecord>, Problem> {
    with_history(move |h| Ok(h.list(limit.min(1000) as usize, project.as_deref())?)).await
}

/// One past run with its steps and log.
#[tauri::command]
#[specta::specta]
#[tracing::instrument]
pub async fn history_run(reference: String) -> Result<RunDetails, Problem> {
    with_history(move |h| {
        let run = h.find(&reference)?.ok_or_else(|| {
            Problem::new(
                ErrorCode::NotFound,
                format!("no run {reference:?} in the history"),
            )
        })?;
        let steps = h.steps(run.seq)?;
        let (logs, dropped_lines) = h.logs(run.seq)?;
        let workflow = h.workflow(run.seq)?;
        let tests = h.test_cases(run.seq)?;
        Ok(RunDetails {
            run,
            steps,
            logs,
            dropped_lines,
            workflow,
            tests,
        })
    })
    .await
}

/// A project's last finished run, as the history keeps it.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
pub struct LastRun {
    /// The project folder.
    pub path: String,
    pub details: RunDetails,
}

/// The last finished run of each added project, so the window shows the
/// results it had before a restart.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn runs_last(state: State<'_, AppState>) -> Result<Vec<LastRun>, Problem> {
    let paths = state.recent_paths();
    with_history(move |h| last_runs(h, paths)).await
}

/// Each project's last finished run, with its steps and log.
fn last_runs(h: &History, paths: Vec<PathBuf>) -> Result<Vec<LastRun>, Problem> {
    let mut last = Vec::new();
    for path in paths {
        let Some(run) = h.last_finished(&path)? else {
            continue;
        };
        let steps = h.steps(run.seq)?;
        let (logs, dropped_lines) = h.logs(run.seq)?;
        let workflow = h.workflow(run.seq)?;
        let tests = h.test_cases(run.seq)?;
        last.push(LastRun {
            path: path.to_string_lossy().into_owned(),
            details: RunDetails {
                run,
                steps,
                logs,
                dropped_lines,
                workflow,
                tests,
            },
        });
    }
    Ok(last)
}

/// Containers a project's runs left (running or kept by the cleanup policy).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn containers_list(
    state: State<'_, AppState>,
    path: String,
) -> Result<Vec<ContainerInfo>, Problem> {
    let path = state.known_project(&path)?;
    let project = slipway_core::config::default_name(&path);
    let engine = slipway_core::engine::Engine::connect().await?;
    Ok(slipway_core::pipeline::containers(&engine, &project).await?)
}

/// Stops and removes one of Slipway's containers.
#[tauri::command]
#[specta::specta]
#[tracing::instrument]
pub async fn container_stop(id: String) -> Result<(), Problem> {
    let engine = slipway_core::engine::Engine::connect().await?;
    Ok(slipway_core::pipeline::stop(&engine, &id).await?)
}

/// The user's preferences.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn settings_get(state: State<'_, AppState>) -> Settings {
    state.settings()
}

/// Saves the user's preferences.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn settings_set(
    app: AppHandle,
    state: State<'_, AppState>,
    settings: Settings,
) -> Result<Settings, Problem> {
    if settings.start_at_login != state.settings().start_at_login {
        crate::start_at_login(&app, settings.start_at_login)?;
    }
    state.save_settings(settings)
}

/// The set-up checks `slipway doctor` makes, with the pipeline of the
/// project at `path` (when given).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn doctor_checks(
    state: State<'_, AppState>,
    path: Option<String>,
) -> Result<Vec<slipway_core::doctor::HealthCheck>, Problem> {
    let dir = match path {
        Some(path) => state.known_project(&path)?,
        None => directories::BaseDirs::new()
            .map(|d| d.home_dir().to_path_buf())
            .unwrap_or_else(|| std::path::PathBuf::from("/")),
    };
    Ok(slipway_core::doctor::run(&dir).await)
}

/// What About shows.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
pub struct About {
    pub version: String,
    /// The commit it was built from.
    pub commit: String,
    /// The engine and the API version in use, when it answers.
    pub docker: Option<slipway_core::engine::EngineVersion>,
    /// Why the engine did not answer.
    pub docker_problem: Option<String>,
}

/// The version, the commit and the Docker API version in use.
#[tauri::command]
#[specta::specta]
pub async fn about() -> About {
    let docker = slipway_core::engine::version(std::time::Duration::from_secs(3)).await;
    About {
        version: slipway_core::VERSION.to_string(),
        commit: slipway_core::COMMIT.to_string(),
        docker_problem: docker.as_ref().err().map(|e| e.to_string()),
        docker: docker.ok(),
    }
}

/// Closes the window the way its close button does: into the tray when
/// "keep in tray" is on, otherwise quitting (Ctrl+W).
#[tauri::command]
#[specta::specta]
pub fn window_close(window: tauri::Window) -> Result<(), Problem> {
    window.close().map_err(|e| {
        Problem::new(
            ErrorCode::Io,
            format!("the window could not be closed: {e}"),
        )
        .with_hint("Use the window's close button, or Quit in the tray menu.")
    })
}

/// The UI reports its first meaningful paint (the project list drawn), with
/// when its steps were reached (ms since the page started loading). It is
/// logged, and printed for the startup benchmark when
/// `SLIPWAY_STARTUP_PROBE` is set.
#[tauri::command]
#[specta::specta]
#[tracing::instrument]
pub fn ui_painted(marks: Vec<(String, f64)>) {
    tracing::info!("first meaningful paint");
    if startup_probe() {
        let marks: Vec<String> = marks
            .iter()
            .map(|(name, ms)| format!("{name}={ms:.1}"))
            .collect();
        eprintln!("SLIPWAY_PAINTED {}", marks.join(" "));
    }
}

/// Whether the startup benchmark is listening (`SLIPWAY_STARTUP_PROBE`).
pub(crate) fn startup_probe() -> bool {
    std::env::var_os("SLIPWAY_STARTUP_PROBE").is_some()
}

fn account_store() -> Result<AccountStore, Problem> {
    Ok(AccountStore::open_default()?)
}

/// Every account (Slipway's and the docker CLI's), and the API URL
/// settings. Never a secret.
#[tauri::command]
#[specta::specta]
#[tracing::instrument]
pub async fn accounts_list() -> Result<Accounts, Problem> {
    Ok(account_store()?.list().await?)
}

/// Validates a GitHub token with `GET /user` and stores it in the keychain.
/// The token goes no further than the core.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, fields(host = ?host))]
pub async fn account_login_github(host: Option<String>, token: String) -> Result<Account, Problem> {
    let token = Secret::new(token);
    Ok(account_store()?
        .login_github(host.as_deref().filter(|h| !h.trim().is_empty()), token)
        .await?)
}

/// Lets git push over https with the GitHub account on `host`: git asks
/// the `slipway` CLI (installed beside the app) for its token. The URLs
/// set up now.
#[tauri::command]
#[specta::specta]
#[tracing::instrument]
pub async fn account_serve_git(host: Option<String>) -> Result<Vec<String>, Problem> {
    let host = host.filter(|h| !h.trim().is_empty());
    let host = host.as_deref().unwrap_or(slipway_core::github::GITHUB_HOST);
    let program = cli_program()?;
    slipway_core::accounts::git_credential::serve(&account_store()?, host, &program).await
}

/// The `slipway` CLI: beside the app's program, else on PATH.
fn cli_program() -> Result<std::path::PathBuf, Problem> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("slipway")))
        .filter(|p| p.is_file());
    let on_path = || {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("slipway"))
                .find(|p| p.is_file())
        })
    };
    beside.or_else(on_path).ok_or_else(|| {
        Problem::new(
            slipway_core::ErrorCode::NotFound,
            "the slipway command is not installed, so git cannot ask it for the token",
        )
        .with_hint("Install Slipway's package (it carries the `slipway` command), then try again.")
    })
}

/// Validates a registry login with the registry and stores it.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, fields(host = ?host))]
pub async fn account_login_registry(
    host: String,
    username: String,
    password: String,
) -> Result<Account, Problem> {
    let password = Secret::new(password);
    Ok(account_store()?
        .login_registry(&host, &username, password)
        .await?)
}

/// Validates a CircleCI token with `GET /me` and stores it.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all)]
pub async fn account_login_circleci(token: String) -> Result<Account, Problem> {
    let token = Secret::new(token);
    Ok(account_store()?.login_circleci(token).await?)
}

/// Signs out: removes the account and its secret.
#[tauri::command]
#[specta::specta]
#[tracing::instrument]
pub async fn account_logout(kind: AccountKind, host: Option<String>) -> Result<bool, Problem> {
    let (_host, removed) = account_store()?.logout(kind, host.as_deref()).await?;
    Ok(removed)
}

/// Saves the API base URL settings and returns the accounts view.
#[tauri::command]
#[specta::specta]
#[tracing::instrument]
pub async fn accounts_endpoints_set(endpoints: Endpoints) -> Result<Accounts, Problem> {
    let store = account_store()?;
    store.set_endpoints(endpoints)?;
    Ok(store.list().await?)
}
