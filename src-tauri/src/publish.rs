//! Registry push from the window ([`slipway_core::push`]): what would be
//! pushed and as whom, then the push with each layer's progress streamed
//! to the page; the result is notified. One push per project at a time.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use slipway_core::engine::Engine;
use slipway_core::push::{self, PushEvent, PushPlan, PushReport};
use slipway_core::{ErrorCode, Problem};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};

use crate::AppState;
use crate::news::{DeployNews, NewsBus, RunNews};

/// What the Push button would do.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct PushView {
    /// The image, the repository and the tags.
    pub plan: PushPlan,
    /// Who the push signs in as; `None` pushes without a login.
    pub user: Option<String>,
}

/// Projects being pushed right now.
#[derive(Default)]
pub struct Pushing(Mutex<BTreeSet<PathBuf>>);

/// The push plan of a project; its problem (no image yet, built from
/// another commit) says what to do first.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn push_plan(
    state: State<'_, AppState>,
    path: String,
    tag: Option<String>,
) -> Result<PushView, Problem> {
    let path = state.known_project(&path)?;
    let pipeline = slipway_core::project::pipeline(&path)?;
    let engine = Engine::connect().await?;
    let plan = push::plan(&engine, &pipeline, tag.as_deref()).await?;
    let user = push::credentials(&plan.registry).await?.map(|c| c.username);
    Ok(PushView { plan, user })
}

/// Pushes the project's image, streaming each layer's progress to
/// `on_event`.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(app, state, pushing, on_event))]
pub async fn push_image(
    app: AppHandle,
    state: State<'_, AppState>,
    pushing: State<'_, Pushing>,
    path: String,
    tag: Option<String>,
    on_event: Channel<PushEvent>,
) -> Result<PushReport, Problem> {
    let path = state.known_project(&path)?;
    let _claim = pushing.claim(&path)?;
    let result = push_now(&path, tag.as_deref(), &on_event).await;
    tell(&app, &path, &result);
    result
}

impl Pushing {
    /// Claims `path` for one push, until the claim drops.
    fn claim(&self, path: &Path) -> Result<PushClaim<'_>, Problem> {
        let fresh = self
            .0
            .lock()
            .map(|mut set| set.insert(path.to_path_buf()))
            .unwrap_or(false);
        if !fresh {
            return Err(Problem::new(
                ErrorCode::Conflict,
                "this project's image is being pushed already",
            )
            .with_hint("Wait for that push to finish."));
        }
        Ok(PushClaim {
            pushing: self,
            path: path.to_path_buf(),
        })
    }
}

/// A project being pushed; released when dropped.
struct PushClaim<'a> {
    pushing: &'a Pushing,
    path: PathBuf,
}

impl Drop for PushClaim<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.pushing.0.lock() {
            set.remove(&self.path);
        }
    }
}

/// Tells the notifications how a push ended.
fn tell(app: &AppHandle, path: &Path, result: &Result<PushReport, Problem>) {
    let project = slipway_core::config::default_name(path);
    let (title, body) = match result {
        Ok(report) => {
            let tags: Vec<&str> = report.tags.iter().map(|t| t.tag.as_str()).collect();
            (
                format!("{project}: image pushed"),
                format!("{}:{}", report.repository, tags.join(", ")),
            )
        }
        Err(problem) => (format!("{project}: push failed"), problem.message.clone()),
    };
    app.state::<NewsBus>().publish(RunNews::Deploy(DeployNews {
        path: path.to_path_buf(),
        title,
        body,
    }));
}

async fn push_now(
    path: &std::path::Path,
    tag: Option<&str>,
    on_event: &Channel<PushEvent>,
) -> Result<PushReport, Problem> {
    let pipeline = slipway_core::project::pipeline(path)?;
    let engine = Engine::connect().await?;
    let plan = push::plan(&engine, &pipeline, tag).await?;
    let credentials = push::credentials(&plan.registry).await?;
    push::push(&engine, &plan, credentials.as_ref(), |event| {
        if let Err(e) = on_event.send(event) {
            tracing::debug!("the window stopped listening to the push: {e}");
        }
    })
    .await
}
