//! Deploy triggers behind one trait: what each needs before its deploy is
//! claimed (a secret from the keychain, a signing key, a CircleCI login),
//! and firing it with cancellation and typed progress to a typed outcome.
//! The account store is passed in, never opened out of sight.

use std::future::Future;
use std::pin::Pin;

use tokio_util::sync::CancellationToken;

use crate::accounts::AccountStore;
use crate::config::{DeployKind, DeployTrigger};
use crate::flow::Project;

use super::DeployState;
use super::fire::{Context, Keys};

/// What a trigger needs before its deploy is claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    /// Its secret part (a URL, a command) from the keychain.
    pub secret: bool,
    /// A webhook's signing key from the keychain.
    pub signing: bool,
    /// A CircleCI login.
    pub circleci: bool,
}

/// Where a firing is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FireProgress {
    /// The service took the request and is running it; where it stands.
    Running(String),
}

/// How a firing ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    /// Succeeded, failed, or unknown (no answer, or stopped following).
    pub state: DeployState,
    /// What the trigger answered, or why it is unknown.
    pub detail: String,
}

impl From<(DeployState, String)> for Fired {
    fn from((state, detail): (DeployState, String)) -> Self {
        Fired { state, detail }
    }
}

/// Everything a trigger may use when it fires.
#[derive(Debug)]
pub struct Shot<'a> {
    /// The project on GitHub.
    pub project: &'a Project,
    /// The trigger as declared.
    pub trigger: &'a DeployTrigger,
    /// What is deployed.
    pub context: &'a Context<'a>,
    /// The secrets it needs, read before the claim.
    pub keys: &'a Keys,
    /// The user's accounts.
    pub accounts: &'a AccountStore,
    /// Stops following a run it started (its outcome is then unknown).
    pub cancel: &'a CancellationToken,
}

/// A firing in progress.
pub type Firing<'a> = Pin<Box<dyn Future<Output = Fired> + Send + 'a>>;

/// Where progress goes.
pub type ProgressSink<'a> = &'a mut (dyn FnMut(FireProgress) + Send);

/// A kind of deploy trigger.
pub trait Trigger: Sync {
    /// What it needs before its deploy is claimed.
    fn needs(&self, trigger: &DeployTrigger) -> Needs;
    /// Fires it; `progress` hears where it stands.
    fn fire<'a>(&'a self, shot: Shot<'a>, progress: ProgressSink<'a>) -> Firing<'a>;
}

/// The trigger of a kind.
pub fn of(kind: DeployKind) -> &'static dyn Trigger {
    match kind {
        DeployKind::Dockerhub => &DockerHub,
        DeployKind::Command => &Command,
        DeployKind::Webhook => &WebhookRequest,
        DeployKind::GithubWorkflow | DeployKind::GithubDispatch => &GithubEvent,
        DeployKind::Circleci => &CircleciPipeline,
    }
}

/// A Docker Hub build trigger.
struct DockerHub;
/// A command on this machine.
struct Command;
/// An HTTP request to any URL.
struct WebhookRequest;
/// A GitHub workflow dispatch or repository dispatch.
struct GithubEvent;
/// A CircleCI pipeline.
struct CircleciPipeline;

impl Trigger for DockerHub {
    fn needs(&self, _: &DeployTrigger) -> Needs {
        Needs {
            secret: true,
            ..Needs::default()
        }
    }

    fn fire<'a>(&'a self, shot: Shot<'a>, _: ProgressSink<'a>) -> Firing<'a> {
        Box::pin(async move {
            match &shot.keys.trigger {
                Some(url) => super::fire::dockerhub(url).await.into(),
                None => missing(),
            }
        })
    }
}

impl Trigger for Command {
    fn needs(&self, trigger: &DeployTrigger) -> Needs {
        Needs {
            secret: trigger.run.is_none(),
            ..Needs::default()
        }
    }

    fn fire<'a>(&'a self, shot: Shot<'a>, _: ProgressSink<'a>) -> Firing<'a> {
        Box::pin(async move {
            let timeout = shot.trigger.timeout.unwrap_or(super::fire::COMMAND_TIMEOUT);
            match (&shot.trigger.run, &shot.keys.trigger) {
                (Some(run), _) => super::fire::command(run, None, timeout, shot.context)
                    .await
                    .into(),
                (None, Some(secret)) => {
                    super::fire::command(secret.expose(), Some(secret), timeout, shot.context)
                        .await
                        .into()
                }
                (None, None) => missing(),
            }
        })
    }
}

impl Trigger for WebhookRequest {
    fn needs(&self, trigger: &DeployTrigger) -> Needs {
        let hook = trigger.webhook.as_ref();
        Needs {
            secret: hook.is_some_and(|w| w.url.is_none()),
            signing: hook.is_some_and(|w| w.signature.is_some()),
            circleci: false,
        }
    }

    fn fire<'a>(&'a self, shot: Shot<'a>, _: ProgressSink<'a>) -> Firing<'a> {
        Box::pin(async move {
            let Some(hook) = &shot.trigger.webhook else {
                return missing();
            };
            let keys = shot.keys;
            super::fire::webhook(
                hook,
                keys.trigger.as_ref(),
                keys.signing.as_ref(),
                shot.context,
            )
            .await
            .into()
        })
    }
}

impl Trigger for GithubEvent {
    fn needs(&self, _: &DeployTrigger) -> Needs {
        Needs::default()
    }

    fn fire<'a>(&'a self, shot: Shot<'a>, progress: ProgressSink<'a>) -> Firing<'a> {
        Box::pin(async move {
            let mut tell = |line: &str| progress(FireProgress::Running(line.to_string()));
            super::github::fire(&shot, &mut tell).await.into()
        })
    }
}

impl Trigger for CircleciPipeline {
    fn needs(&self, _: &DeployTrigger) -> Needs {
        Needs {
            circleci: true,
            ..Needs::default()
        }
    }

    fn fire<'a>(&'a self, shot: Shot<'a>, progress: ProgressSink<'a>) -> Firing<'a> {
        Box::pin(async move {
            let mut tell = |line: &str| progress(FireProgress::Running(line.to_string()));
            super::circleci::fire(&shot, &mut tell).await.into()
        })
    }
}

fn missing() -> Fired {
    Fired {
        state: DeployState::Failed,
        detail: "the trigger's secret is missing".into(),
    }
}
