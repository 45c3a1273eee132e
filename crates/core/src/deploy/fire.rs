//! Sending a trigger's request: Docker Hub's build trigger (a POST with
//! `build=true` to the secret URL), a webhook (any method, headers, a body
//! template, an HMAC-SHA256 signature), or a command on this machine. The
//! secret never reaches an error or a log: URLs are dropped from HTTP
//! errors, and a secret command's output is redacted.

use std::path::Path;
use std::time::Duration;

use crate::config::Webhook;
use crate::secrets::Secret;

use super::DeployState;

/// How long a trigger's request may take before its outcome is unknown.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Where a secret command waits for the shell.
const SECRET_COMMAND_ENV: &str = "SLIPWAY_DEPLOY_COMMAND";
/// The shell's script for a secret command: read it, forget it, run it.
const SECRET_SCRIPT: &str = "c=$SLIPWAY_DEPLOY_COMMAND; unset SLIPWAY_DEPLOY_COMMAND; eval \"$c\"";

/// How long a deploy command may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// What a deploy is about, for a command's environment and a webhook's body.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub project: &'a str,
    pub root: &'a Path,
    pub branch: &'a str,
    pub sha: &'a str,
    pub trigger: &'a str,
    /// The commit's image, `repository:tag` as `[push]` names it.
    pub image: &'a str,
    /// Its tag.
    pub tag: &'a str,
}

/// The secrets a trigger uses: its secret part (a URL, a command) and a
/// webhook's signing key.
#[derive(Debug, Default)]
pub struct Keys {
    pub trigger: Option<Secret>,
    pub signing: Option<Secret>,
}

/// `{sha}`, `{branch}`, `{image}`, `{tag}` and `{project}` filled in.
pub fn fill(template: &str, context: &Context<'_>) -> String {
    template
        .replace("{sha}", context.sha)
        .replace("{branch}", context.branch)
        .replace("{image}", context.image)
        .replace("{tag}", context.tag)
        .replace("{project}", context.project)
}

/// Inputs or parameters with each value filled in, as a JSON object.
pub fn filled(
    inputs: &std::collections::BTreeMap<String, String>,
    context: &Context<'_>,
) -> serde_json::Map<String, serde_json::Value> {
    inputs
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(fill(v, context))))
        .collect()
}

/// `sha256=` and the hex HMAC-SHA256 of `body` keyed with `key`, as GitHub
/// signs its webhooks.
pub fn signature(key: &Secret, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key.expose().as_bytes()) else {
        // HMAC takes a key of any length; this is not reached.
        return String::new();
    };
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

fn client() -> Result<reqwest::Client, (DeployState, String)> {
    reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .build()
        .map_err(|e| (DeployState::Failed, e.without_url().to_string()))
}

pub(super) async fn dockerhub(url: &Secret) -> (DeployState, String) {
    let client = match client() {
        Ok(c) => c,
        Err(failed) => return failed,
    };
    let sent = client
        .post(url.expose())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("build=true")
        .send()
        .await;
    answered("Docker Hub", sent)
}

pub(super) async fn webhook(
    hook: &Webhook,
    secret_url: Option<&Secret>,
    signing: Option<&Secret>,
    context: &Context<'_>,
) -> (DeployState, String) {
    let Some(url) = hook
        .url
        .clone()
        .or_else(|| secret_url.map(|s| s.expose().to_string()))
    else {
        return (DeployState::Failed, "the webhook has no URL".into());
    };
    let client = match client() {
        Ok(c) => c,
        Err(failed) => return failed,
    };
    let method =
        reqwest::Method::from_bytes(hook.method.as_bytes()).unwrap_or(reqwest::Method::POST);
    let body = hook
        .body
        .as_deref()
        .map(|b| fill(b, context))
        .unwrap_or_default();
    let mut request = client.request(method, &url);
    for (name, value) in &hook.headers {
        request = request.header(name, fill(value, context));
    }
    if let (Some(header), Some(key)) = (&hook.signature, signing) {
        request = request.header(header, signature(key, body.as_bytes()));
    }
    answered("the webhook", request.body(body).send().await)
}

/// A trigger's HTTP answer as a deploy state; never with the URL.
fn answered(who: &str, sent: Result<reqwest::Response, reqwest::Error>) -> (DeployState, String) {
    match sent {
        Ok(answer) if answer.status().is_success() => (
            DeployState::Succeeded,
            format!("{who} answered HTTP {}", answer.status().as_u16()),
        ),
        Ok(answer) => (
            DeployState::Failed,
            format!("{who} answered HTTP {}", answer.status().as_u16()),
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
                "could not reach {who}: {}",
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

pub(super) async fn command(
    line: &str,
    secret: Option<&Secret>,
    timeout: Duration,
    context: &Context<'_>,
) -> (DeployState, String) {
    let pieces = secret
        .map(|s| secret_pieces(s.expose()))
        .unwrap_or_default();
    let redact = |text: &str| {
        pieces.iter().fold(text.to_string(), |text, piece| {
            text.replace(piece, "[secret]")
        })
    };
    let mut cmd = tokio::process::Command::new("/bin/sh");
    match secret {
        // A secret command goes to the shell in its environment, which only
        // its user can read, never in its arguments (every user's `ps`); the
        // shell takes it out before running it.
        Some(_) => cmd
            .args(["-c", SECRET_SCRIPT])
            .env(SECRET_COMMAND_ENV, line),
        None => cmd.args(["-c", line]),
    };
    cmd.current_dir(context.root)
        .env("SLIPWAY_PROJECT", context.project)
        .env("SLIPWAY_DEPLOY_TRIGGER", context.trigger)
        .env("SLIPWAY_DEPLOY_BRANCH", context.branch)
        .env("SLIPWAY_DEPLOY_SHA", context.sha)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    let child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            return (
                DeployState::Failed,
                format!("the command could not start: {e}"),
            );
        }
    };
    // Past the timeout (or cancelled), the shell and what it started go.
    let group = crate::process_group::GroupGuard(child.id());
    let ended = tokio::time::timeout(timeout, child.wait_with_output()).await;
    if ended.is_ok() {
        group.disarm();
    }
    match ended {
        Err(_) => (
            DeployState::Unknown,
            format!(
                "the command ran over its timeout ({}) and was stopped: whether it deployed is unknown",
                crate::duration::roughly(timeout)
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

/// What of a secret command must not be shown: the command, each long word
/// of it (a URL with its token, a key) and each long part of those.
fn secret_pieces(command: &str) -> Vec<String> {
    const LONG: usize = 12;
    let mut pieces = vec![command.trim().to_string()];
    for word in command.split_whitespace() {
        let word = word.trim_matches(|c| matches!(c, '"' | '\'' | ';' | '(' | ')'));
        if word.len() >= LONG {
            pieces.push(word.to_string());
        }
        pieces.extend(
            word.split(['/', '?', '&', '=', ':', '@'])
                .filter(|part| part.len() >= LONG)
                .map(str::to_string),
        );
    }
    pieces.retain(|p| !p.is_empty());
    // Longest first, so a whole word goes before a part of it.
    pieces.sort_by_key(|p| std::cmp::Reverse(p.len()));
    pieces.dedup();
    pieces
}

#[cfg(test)]
mod tests {
    use super::secret_pieces;

    #[test]
    fn a_secret_commands_url_and_token_are_pieces_to_hide() {
        let pieces = secret_pieces(
            "curl --data \"build=true\" -X POST https://hub.example/api/trigger/0123456789abcdef/call/",
        );
        let shown = pieces.iter().fold(
            "POST https://hub.example/api/trigger/0123456789abcdef/call/ -> 0123456789abcdef accepted".to_string(),
            |text, piece| text.replace(piece, "[secret]"),
        );
        assert_eq!(shown, "POST [secret] -> [secret] accepted");
        assert!(!pieces.iter().any(|p| p == "--data" || p == "POST"));
    }
}
