//! Desktop notifications for run results, pull request changes and deploys
//! (it follows the news), through
//! Tauri's notification plugin.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};

use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;
use tauri_specta::Event as _;

use slipway_core::Problem;
use slipway_core::duration::display;
use slipway_core::event::Outcome;

use crate::news::{BranchNews, Navigate, NewsBus, PullNews, RunFinished, RunNews};
use slipway_core::flow::follow::Transition;
use slipway_core::radar::BranchTransition;

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

/// The title and body of a pull request's notification, when it changed
/// in a way worth one.
pub fn pull_text(news: &PullNews) -> Option<(String, String)> {
    let pull = &news.view.pull;
    let who = format!("{} #{}", news.project, pull.number);
    let title = match (&news.transition, &news.notice) {
        (Some(Transition::Green), Some(notice)) => format!("{who}: checks passed, {notice}"),
        (Some(Transition::Green), None) => format!("{who}: checks passed"),
        (Some(Transition::Red(failed)), _) if !failed.is_empty() => {
            format!("{who}: {} failed", failed.join(", "))
        }
        (Some(Transition::Red(_)), _) => format!("{who}: checks failed"),
        (Some(Transition::Merged), _) => format!("{who} merged into {}", pull.base_ref),
        (Some(Transition::Closed), _) => format!("{who} closed"),
        (Some(Transition::Approved(by)), _) => format!("{who} approved by {}", by.join(", ")),
        (Some(Transition::ChangesRequested(by)), Some(notice)) => {
            format!("{who}: changes requested by {}, {notice}", by.join(", "))
        }
        (Some(Transition::ChangesRequested(by)), None) => {
            format!("{who}: changes requested by {}", by.join(", "))
        }
        (None, Some(notice)) => format!("{who}: {notice}"),
        (None, None) => return None,
    };
    let body = match (&news.transition, &news.notice) {
        (Some(Transition::Red(_)), Some(notice)) => format!("{}: {notice}", pull.title),
        _ => pull.title.clone(),
    };
    Some((title, body))
}

/// The title and body of a default branch turning red or green again.
pub fn branch_text(news: &BranchNews) -> Option<(String, String)> {
    let (branch, transition) = news.transition.as_ref()?;
    if !branch.default {
        return None;
    }
    let short = branch
        .sha
        .as_deref()
        .map(slipway_core::git::short_sha)
        .unwrap_or_default();
    Some(match transition {
        BranchTransition::Red { failed } if !failed.is_empty() => (
            format!("{}: {} is red", news.project, branch.branch),
            format!("{} failed on {short}", failed.join(", ")),
        ),
        BranchTransition::Red { .. } => (
            format!("{}: {} is red", news.project, branch.branch),
            format!("its checks failed on {short}"),
        ),
        BranchTransition::Green => (
            format!("{}: {} is green again", news.project, branch.branch),
            format!("its checks passed on {short}"),
        ),
    })
}

/// Where a click on a notification leads: notification id to project and run.
#[derive(Debug, Default)]
pub struct Targets {
    next: AtomicI32,
    by_id: Mutex<HashMap<i32, Navigate>>,
}

/// Makes a click on a notification bring the window to its run.
pub fn listen_for_clicks(app: &AppHandle) {
    let handle = app.clone();
    let result = app.notification().on_action(move |performed| {
        if performed.action_id() != "tap" {
            return;
        }
        let Some(id) = performed.notification().map(|n| n.id()) else {
            return;
        };
        let target = handle
            .state::<Targets>()
            .by_id
            .lock()
            .ok()
            .and_then(|m| m.get(&id).cloned());
        if let Some(target) = target {
            crate::show_window(&handle);
            if let Err(e) = target.emit(&handle) {
                tracing::warn!(error = %e, "could not open the notified run");
            }
        }
    });
    if let Err(e) = result {
        tracing::warn!(error = %e, "notification clicks will not open runs");
    }
}

/// Notifies every run's result from now on.
pub fn follow_runs(app: &AppHandle) {
    let handle = app.clone();
    app.state::<NewsBus>().follow(move |news| match news {
        RunNews::Finished(result) => run_result(&handle, &result),
        RunNews::Pull(news) => {
            if let Some((title, body)) = pull_text(&news) {
                send(&handle, &title, &body, Some(project_page(&news.path)));
            }
        }
        RunNews::Branch(news) => {
            if let Some((title, body)) = branch_text(&news) {
                send(&handle, &title, &body, Some(project_page(&news.path)));
            }
        }
        RunNews::Deploy(news) => {
            send(
                &handle,
                &news.title,
                &news.body,
                Some(project_page(&news.path)),
            );
        }
        RunNews::Started(_) => {}
    });
}

/// A click that opens a project's page.
fn project_page(path: &std::path::Path) -> Navigate {
    Navigate {
        path: path.to_path_buf(),
        run_id: None,
        seq: None,
    }
}

/// Notifies the result of a run, if the user wants notifications.
fn run_result(app: &AppHandle, result: &RunFinished) {
    let (title, mut body) = result_text(result);
    if let Some(problem) = &result.unrecorded {
        body.push_str(&format!("\nNot kept in the history: {}", problem.message));
    }
    let target = Navigate {
        path: result.path.clone(),
        run_id: Some(result.run_id.clone()),
        seq: result.seq,
    };
    send(app, &title, &body, Some(target));
}

/// Notifies a run that could not start (from the tray, with no window).
pub fn problem(app: &AppHandle, project: &str, problem: &Problem) {
    send(
        app,
        &format!("{project}: could not run"),
        &problem.message,
        None,
    );
}

fn send(app: &AppHandle, title: &str, body: &str, target: Option<Navigate>) {
    if !app.state::<crate::AppState>().settings().notifications {
        return;
    }
    let targets = app.state::<Targets>();
    let id = targets.next.fetch_add(1, Ordering::Relaxed) + 1;
    if let (Some(target), Ok(mut map)) = (target, targets.by_id.lock()) {
        map.insert(id, target);
    }
    if let Err(e) = app
        .notification()
        .builder()
        .id(id)
        .title(title)
        .body(body)
        .show()
    {
        tracing::warn!(error = %e, "could not show a notification");
    }
}
