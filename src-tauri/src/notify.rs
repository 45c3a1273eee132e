//! Desktop notifications for run results, through Tauri's notification
//! plugin.

use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;

use slipway_core::Problem;
use slipway_core::duration::display;
use slipway_core::event::Outcome;

use crate::session::RunFinished;

/// The title and body of a result notification.
pub fn result_text(result: &RunFinished) -> (String, String) {
    let took = display(std::time::Duration::from_millis(result.duration_ms));
    let project = &result.project;
    match &result.outcome {
        Outcome::Passed => (
            format!("{project}: passed"),
            format!("All steps passed in {took}."),
        ),
        Outcome::Failed {
            step_name, message, ..
        } => (
            format!("{project}: failed at {step_name}"),
            format!("{} ({took})", message.lines().next().unwrap_or_default()),
        ),
        Outcome::Cancelled => (
            format!("{project}: cancelled"),
            format!("Cancelled after {took}; containers removed."),
        ),
        Outcome::Error { problem, .. } => {
            (format!("{project}: could not run"), problem.message.clone())
        }
    }
}

/// Notifies the result of a run, if the user wants notifications.
pub fn run_result(app: &AppHandle, result: &RunFinished) {
    let (title, body) = result_text(result);
    send(app, &title, &body);
}

/// Notifies a run that could not start (from the tray, with no window).
pub fn problem(app: &AppHandle, project: &str, problem: &Problem) {
    send(app, &format!("{project}: could not run"), &problem.message);
}

fn send(app: &AppHandle, title: &str, body: &str) {
    if !app.state::<crate::AppState>().settings().notifications {
        return;
    }
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::warn!(error = %e, "could not show a notification");
    }
}
