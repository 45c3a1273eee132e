//! `slipway login`, `logout`, `whoami` and `secret`: accounts and secrets,
//! following `gh` and `docker` habits. Secrets come from stdin or a hidden
//! prompt and go straight to the core; nothing here prints one.

use std::io::{IsTerminal, Read};

use clap::{Subcommand, ValueEnum};
use slipway_core::accounts::git_credential;
use slipway_core::accounts::{Account, AccountKind, AccountSource, AccountStore, SecretState};
use slipway_core::config::DeployKind;
use slipway_core::secrets::{Secret, SecretId, Secrets};
use slipway_core::{ErrorCode, Problem};

use crate::EXIT_PASSED;

#[derive(Debug, Subcommand)]
pub enum Login {
    /// Sign in to GitHub (or GitHub Enterprise) with a personal access token.
    Github {
        /// The GitHub host: github.com or a GitHub Enterprise host.
        #[arg(long, default_value = slipway_core::github::GITHUB_HOST)]
        host: String,
        /// Read the token from standard input.
        #[arg(long)]
        with_token: bool,
        /// Let git push over https with this account (`slipway git-credential`).
        #[arg(long, conflicts_with = "no_git")]
        git: bool,
        /// Leave git's credentials as they are, without asking.
        #[arg(long)]
        no_git: bool,
    },
    /// Sign in to a Docker registry (Docker Hub: docker.io).
    Registry {
        /// The registry host, like registry.example.com or localhost:5000.
        host: String,
        /// The user name.
        #[arg(long, short = 'u')]
        username: String,
        /// Read the password (or access token) from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Sign in to CircleCI with a personal API token.
    Circleci {
        /// Read the token from standard input.
        #[arg(long)]
        with_token: bool,
    },
}

/// A service to sign out of.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Service {
    Github,
    Registry,
    Circleci,
}

impl From<Service> for AccountKind {
    fn from(s: Service) -> Self {
        match s {
            Service::Github => AccountKind::Github,
            Service::Registry => AccountKind::Registry,
            Service::Circleci => AccountKind::Circleci,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Store a project secret, read from standard input.
    Set {
        kind: ProjectSecret,
        /// PROJECT/NAME, like hello/dockerhub.
        name: String,
    },
    /// Remove a project secret.
    Rm {
        kind: ProjectSecret,
        /// PROJECT/NAME, like hello/dockerhub.
        name: String,
    },
}

/// The kinds of project secrets.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProjectSecret {
    /// A deploy trigger URL (it embeds a token).
    DeployTrigger,
    /// The secret a webhook is signed with.
    WebhookSecret,
    /// A CircleCI context's variable, for workflows run here (CONTEXT/VAR).
    Context,
}

fn store() -> Result<AccountStore, Problem> {
    Ok(AccountStore::open_default()?)
}

/// Reads a secret: all of stdin with the flag, else a hidden prompt on a
/// terminal.
fn read_secret(from_stdin: bool, flag: &str, what: &str) -> Result<Secret, Problem> {
    if from_stdin {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| {
            Problem::new(
                ErrorCode::Io,
                format!("cannot read the {what} from standard input: {e}"),
            )
        })?;
        return Ok(Secret::new(text));
    }
    if !std::io::stdin().is_terminal() {
        return Err(Problem::new(
            ErrorCode::BadConfig,
            format!("no {what}: standard input is not a terminal to ask on"),
        )
        .with_hint(format!("Pipe it in and pass {flag}.")));
    }
    rpassword::prompt_password(format!("Paste the {what} (it is not shown): "))
        .map(Secret::new)
        .map_err(|e| Problem::new(ErrorCode::Io, format!("cannot read the {what}: {e}")))
}

pub async fn login(command: Login) -> Result<u8, Problem> {
    let store = store()?;
    let account = match command {
        Login::Github {
            host,
            with_token,
            git,
            no_git,
        } => {
            let token = read_secret(with_token, "--with-token", "GitHub token")?;
            let account = store.login_github(Some(&host), token).await?;
            signed_in(&account);
            let git = match (git, no_git) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            serve_git(&store, &account.host, git).await?;
            return Ok(EXIT_PASSED);
        }
        Login::Registry {
            host,
            username,
            password_stdin,
        } => {
            let password = read_secret(password_stdin, "--password-stdin", "registry password")?;
            store.login_registry(&host, &username, password).await?
        }
        Login::Circleci { with_token } => {
            let token = read_secret(with_token, "--with-token", "CircleCI token")?;
            store.login_circleci(token).await?
        }
    };
    signed_in(&account);
    Ok(EXIT_PASSED)
}

/// Says who the login is for, what its token may do, and what may not work.
fn signed_in(account: &Account) {
    out!(
        "✓ Signed in to {} as {}{}",
        account.host,
        account.user,
        account
            .name
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default()
    );
    if let Some(scopes) = &account.scopes {
        out!(
            "  token scopes: {}",
            if scopes.is_empty() {
                "none".into()
            } else {
                scopes.join(", ")
            }
        );
    }
    for warning in &account.warnings {
        eprintln!("warning: {warning}");
    }
}

/// Lets git use the GitHub account on `host` for https: with `Some(true)`,
/// asked on a terminal when `None`, else said how.
async fn serve_git(store: &AccountStore, host: &str, wanted: Option<bool>) -> Result<(), Problem> {
    let program = std::env::current_exe()
        .map_err(|e| Problem::new(ErrorCode::Io, format!("cannot find this program: {e}")))?;
    let missing = git_credential::unserved(store, host, &program).await;
    if missing.is_empty() {
        if wanted == Some(true) {
            out!("  git already pushes over https with this account");
        }
        return Ok(());
    }
    let yes = match wanted {
        Some(yes) => yes,
        None if std::io::stdin().is_terminal() => ask_yes(&format!(
            "Let git push to {} with this account? [Y/n] ",
            missing.join(" and ")
        )),
        None => {
            eprintln!(
                "hint: to let git push over https with this account, run `slipway login github --git` (or pass --no-git)"
            );
            return Ok(());
        }
    };
    if !yes {
        return Ok(());
    }
    // The URLs were just read: set them up without asking git again.
    for url in &missing {
        git_credential::set_up(url, &program).await?;
    }
    out!(
        "✓ git now asks Slipway for {}'s credentials (`slipway git-credential`; the token stays in the keychain)",
        missing.join(" and ")
    );
    Ok(())
}

/// A yes/no question on the terminal; yes unless answered no.
fn ask_yes(question: &str) -> bool {
    use std::io::{BufRead, Write};
    eprint!("{question}");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    !matches!(answer.trim().to_ascii_lowercase().as_str(), "n" | "no")
}

/// `slipway git-credential OPERATION`: answers git's `get` with the signed-in
/// GitHub account's token for its hosts; `store` and `erase` keep nothing
/// (the keychain holds the token, and `slipway logout` removes it).
pub async fn git_credential(operation: &str) -> Result<u8, Problem> {
    let mut asked = String::new();
    std::io::stdin().read_to_string(&mut asked).map_err(|e| {
        Problem::new(
            ErrorCode::Io,
            format!("cannot read git's request from standard input: {e}"),
        )
    })?;
    match operation {
        "get" => {}
        "store" | "erase" => return Ok(EXIT_PASSED),
        other => {
            return Err(Problem::new(
                ErrorCode::BadConfig,
                format!("git-credential: unknown operation {other:?}"),
            )
            .with_hint("git calls it with get, store or erase."));
        }
    }
    let ask = git_credential::CredentialAsk::parse(&asked);
    if let Some(credential) = store()?.git_credential(&ask).await? {
        use std::io::Write;
        let mut out = std::io::stdout();
        if let Err(e) = out
            .write_all(credential.to_git().as_bytes())
            .and_then(|()| out.flush())
        {
            tracing::debug!("git stopped reading the credential: {e}");
        }
    }
    Ok(EXIT_PASSED)
}

pub async fn logout(service: Service, host: Option<String>) -> Result<u8, Problem> {
    let kind = AccountKind::from(service);
    let (name, removed) = store()?.logout(kind, host.as_deref()).await?;
    if removed {
        out!("signed out of {} {name}", kind.service());
    } else {
        out!(
            "not signed in to {} {name}; nothing to remove",
            kind.service()
        );
    }
    Ok(EXIT_PASSED)
}

pub async fn whoami(json: bool) -> Result<u8, Problem> {
    let list = store()?.list().await?;
    if json {
        out!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
        return Ok(EXIT_PASSED);
    }
    if let Some(problem) = &list.keychain {
        eprintln!("warning: {}", problem.message);
        if let Some(hint) = crate::render::problem_hint(problem) {
            eprintln!("hint: {hint}");
        }
    }
    if list.accounts.is_empty() {
        out!("Not signed in anywhere.");
        out!(
            "Sign in with `slipway login github --with-token`, `slipway login registry HOST -u USER --password-stdin` or `slipway login circleci --with-token`."
        );
        return Ok(EXIT_PASSED);
    }
    for account in &list.accounts {
        out!("{}", line(account));
    }
    Ok(EXIT_PASSED)
}

fn line(account: &Account) -> String {
    let mut text = format!(
        "{:<9} {:<24} {}",
        account.kind.service(),
        account.host,
        account.user
    );
    if let Some(name) = &account.name {
        text.push_str(&format!(" ({name})"));
    }
    if let Some(scopes) = &account.scopes {
        text.push_str(&format!("  scopes: {}", scopes.join(", ")));
    }
    text.push_str(match &account.source {
        AccountSource::Slipway => "  [keychain]",
        AccountSource::DockerConfig => "  [docker config.json]",
        AccountSource::DockerHelper { .. } => "  [docker credential helper]",
    });
    match account.secret {
        SecretState::Set => {}
        SecretState::Missing => {
            text.push_str("  (secret missing from the keychain: sign in again)")
        }
        SecretState::Unknown => text.push_str("  (keychain unavailable)"),
    }
    for warning in &account.warnings {
        text.push_str(&format!("\n          ! {warning}"));
    }
    text
}

fn project_secret(kind: ProjectSecret, name: &str) -> Result<SecretId, Problem> {
    let Some((project, trigger)) = name
        .split_once('/')
        .filter(|(p, t)| !p.is_empty() && !t.is_empty() && !t.contains('/'))
    else {
        return Err(Problem::new(
            ErrorCode::BadConfig,
            format!("{name:?} is not PROJECT/NAME"),
        )
        .with_hint("Name it like hello/dockerhub: the project, a slash, the trigger's name."));
    };
    let named = |text: &str| {
        text.len() <= 64
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    if let Some(bad) = [project, trigger].into_iter().find(|t| !named(t)) {
        return Err(Problem::new(
            ErrorCode::BadConfig,
            format!("{bad:?} in {name:?} is not a project or trigger name"),
        )
        .with_hint("Use letters, digits, '-', '_' and '.', like hello/dockerhub."));
    }
    let (project, trigger) = (project.to_string(), trigger.to_string());
    Ok(match kind {
        ProjectSecret::DeployTrigger => SecretId::DeployTrigger { project, trigger },
        ProjectSecret::WebhookSecret => SecretId::WebhookSecret { project, trigger },
        ProjectSecret::Context => SecretId::ContextVar {
            context: project,
            var: trigger,
        },
    })
}

/// The kind of the trigger a project secret is for, as this folder's
/// pipeline declares it; warns when the folder is the project's and
/// declares no such trigger.
fn declared_here(id: &SecretId) -> Option<DeployKind> {
    let (SecretId::DeployTrigger { project, trigger }
    | SecretId::WebhookSecret { project, trigger }) = id
    else {
        return None;
    };
    let pipeline = slipway_core::project::pipeline(std::path::Path::new(".")).ok()?;
    if &pipeline.project != project {
        return None;
    }
    let found = pipeline.deploys.iter().find(|d| &d.name == trigger);
    if found.is_none() {
        let names: Vec<&str> = pipeline.deploys.iter().map(|d| d.name.as_str()).collect();
        crate::render::warning(
            &format!("the pipeline here declares no deploy trigger named {trigger:?}"),
            Some(&match names.is_empty() {
                true => "Declare it under [deploy.NAME] in slipway.toml.".to_string(),
                false => format!("It declares: {}.", names.join(", ")),
            }),
        );
    }
    found.map(|d| d.kind)
}

pub async fn secret(command: SecretCommand) -> Result<u8, Problem> {
    match command {
        SecretCommand::Set { kind, name } => {
            let id = project_secret(kind, &name)?;
            let declared = declared_here(&id);
            let value = read_secret(!std::io::stdin().is_terminal(), "it on stdin", "secret")?;
            let what = match (&id, declared) {
                (SecretId::DeployTrigger { project, trigger }, Some(DeployKind::Command)) => {
                    format!("the deploy command {trigger:?} of project {project}")
                }
                // Not this folder's pipeline: a URL or a command, whichever it declares.
                (SecretId::DeployTrigger { project, trigger }, None) => {
                    format!("the secret of deploy trigger {trigger:?} of project {project}")
                }
                _ => id.describe(),
            };
            Secrets::os().set(id.clone(), value).await?;
            if let SecretId::ContextVar { context, var } = &id {
                slipway_core::workflow::remember_context_var(context, var).map_err(|e| {
                    Problem::new(
                        ErrorCode::Io,
                        format!("cannot note the context's variable: {e}"),
                    )
                })?;
            }
            out!("stored {what} in the keychain");
        }
        SecretCommand::Rm { kind, name } => {
            let id = project_secret(kind, &name)?;
            let what = id.describe();
            if let SecretId::ContextVar { context, var } = &id {
                slipway_core::workflow::forget_context_var(context, var).map_err(|e| {
                    Problem::new(
                        ErrorCode::Io,
                        format!("cannot note the context's variable: {e}"),
                    )
                })?;
            }
            if Secrets::os().delete(id).await? {
                out!("removed {what}");
            } else {
                out!("{what} was not set; nothing to remove");
            }
        }
    }
    Ok(EXIT_PASSED)
}
