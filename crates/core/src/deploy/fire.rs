//! Sending a trigger's request: Docker Hub's build trigger (a POST with
//! `build=true` to the secret URL) or a command on this machine. The
//! secret never reaches an error or a log: URLs are dropped from HTTP
//! errors, and a secret command's output is redacted.

use std::path::Path;
use std::time::Duration;

use crate::config::{DeployKind, DeployTrigger};
use crate::secrets::Secret;

use super::DeployState;

/// How long a trigger's request may take before its outcome is unknown.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a deploy command may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// What a deploy is about, for a command's environment.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub project: &'a str,
    pub root: &'a Path,
    pub branch: &'a str,
    pub sha: &'a str,
    pub trigger: &'a str,
}

/// Fires `trigger`; its state and what to tell about it.
pub async fn fire(
    trigger: &DeployTrigger,
    secret: Option<&Secret>,
    context: &Context<'_>,
) -> (DeployState, String) {
    match (trigger.kind, secret, &trigger.run) {
        (DeployKind::Dockerhub, Some(url), _) => dockerhub(url).await,
        (DeployKind::Command, _, Some(run)) => command(run, None, context).await,
        (DeployKind::Command, Some(secret), None) => {
            command(secret.expose(), Some(secret), context).await
        }
        _ => (
            DeployState::Failed,
            "the trigger's secret is missing".into(),
        ),
    }
}

async fn dockerhub(url: &Secret) -> (DeployState, String) {
    let client = match reqwest::Client::builder().timeout(HTTP_TIMEOUT).build() {
        Ok(c) => c,
        Err(e) => return (DeployState::Failed, e.without_url().to_string()),
    };
    let sent = client
        .post(url.expose())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("build=true")
        .send()
        .await;
    match sent {
        Ok(answer) if answer.status().is_success() => (
            DeployState::Succeeded,
            format!("Docker Hub answered HTTP {}", answer.status().as_u16()),
        ),
        Ok(answer) => (
            DeployState::Failed,
            format!("Docker Hub answered HTTP {}", answer.status().as_u16()),
        ),
        Err(e) if e.is_timeout() => (
            DeployState::Unknown,
            format!(
                "no answer within {} s: it may or may not have started",
                HTTP_TIMEOUT.as_secs()
            ),
        ),
        Err(e) if e.is_connect() => (
            DeployState::Failed,
            format!(
                "could not reach the trigger: {}",
                crate::error::root_cause(&e.without_url())
            ),
        ),
        Err(e) => (
            DeployState::Unknown,
            format!(
                "the request failed midway: {}",
                crate::error::root_cause(&e.without_url())
            ),
        ),
    }
}

async fn command(
    line: &str,
    secret: Option<&Secret>,
    context: &Context<'_>,
) -> (DeployState, String) {
    let redact = |text: &str| match secret {
        Some(s) if !s.expose().is_empty() => text.replace(s.expose(), "[secret]"),
        _ => text.to_string(),
    };
    let mut cmd = tokio::process::Command::new("/bin/sh");
    cmd.args(["-c", line])
        .current_dir(context.root)
        .env("SLIPWAY_PROJECT", context.project)
        .env("SLIPWAY_DEPLOY_TRIGGER", context.trigger)
        .env("SLIPWAY_DEPLOY_BRANCH", context.branch)
        .env("SLIPWAY_DEPLOY_SHA", context.sha)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    match tokio::time::timeout(COMMAND_TIMEOUT, cmd.output()).await {
        Err(_) => (
            DeployState::Unknown,
            format!(
                "the command ran over {} min and was stopped",
                COMMAND_TIMEOUT.as_secs() / 60
            ),
        ),
        Ok(Err(e)) => (
            DeployState::Failed,
            format!("the command could not start: {e}"),
        ),
        Ok(Ok(out)) => {
            let text = String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr);
            let last: Vec<&str> = text
                .lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let said = redact(&last.join("\n"));
            match out.status.code() {
                Some(0) => (
                    DeployState::Succeeded,
                    if said.is_empty() {
                        "the command exited 0".into()
                    } else {
                        said
                    },
                ),
                code => (
                    DeployState::Failed,
                    format!(
                        "the command exited with {}{}{said}",
                        code.map_or("a signal".to_string(), |c| format!("code {c}")),
                        if said.is_empty() { "" } else { ":\n" }
                    ),
                ),
            }
        }
    }
}
