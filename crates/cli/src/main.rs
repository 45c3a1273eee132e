//! `slipway`: the command line over slipway-core. It parses arguments,
//! calls the core and renders its events; no pipeline logic lives here.

/// `println!` that ignores a closed stdout (`slipway history | head`)
/// instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod accounts;
mod deploy;
mod history;
mod import;
mod pr;
mod push;
mod render;
mod run;
mod setup;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use slipway_core::Problem;
use slipway_core::config;
use slipway_core::engine::Engine;

/// Exit code: every step passed.
const EXIT_PASSED: u8 = 0;
/// Exit code: a step failed.
const EXIT_FAILED: u8 = 1;
/// Exit code: bad input (config, usage).
const EXIT_BAD_INPUT: u8 = 2;
/// Exit code: the environment (engine unreachable, port taken, ...).
const EXIT_ENVIRONMENT: u8 = 3;
/// Exit code: cancelled with Ctrl-C, as shells report SIGINT.
const EXIT_CANCELLED: u8 = 130;

#[derive(Debug, Parser)]
#[command(
    name = "slipway",
    version,
    about = "Build, run, probe and test a Docker service locally, before you push.",
    after_help = "Exit codes: 0 passed, 1 a step failed (or checks failed, or a deploy failed), 2 bad input (config, usage), 3 environment (engine or GitHub unreachable, rate-limited, port taken), 4 a deploy refused by its gate (nothing sent), 8 checks pending (`pr status`) or armed and left to merge (`pr merge --when-green --detach`), 130 cancelled (an arming stays)."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the pipeline: build the image, run it, wait until it answers, run the tests.
    Run {
        /// Project folder (with a Dockerfile, and optionally slipway.toml).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Print one JSON event per line instead of the live view.
        #[arg(long)]
        json: bool,
        /// Show all output (build, container logs), not only step results and test output.
        #[arg(long, short)]
        verbose: bool,
        /// Run the pipeline as committed at REF (a branch, tag or SHA), in a
        /// temporary worktree: your working tree and branch are not touched.
        #[arg(long, value_name = "REF", conflicts_with_all = ["workflow", "job"])]
        at: Option<String>,
        #[command(flatten)]
        workflow: run::WorkflowArgs,
    },
    /// Write a commented slipway.toml inferred from the Dockerfile.
    Init {
        /// Project folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Replace an existing slipway.toml.
        #[arg(long)]
        force: bool,
    },
    /// List past runs, newest first.
    History {
        /// Only runs of this project.
        #[arg(long)]
        project: Option<String>,
        /// How many runs to show.
        #[arg(long, short = 'n', default_value_t = 20)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the steps and log of a past run.
    Logs {
        /// Run number (`12`), id or its last digits, or `last`.
        #[arg(default_value = "last")]
        run: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove containers left behind by a crash or by `cleanup = "never"`.
    Clean {
        /// Only this project's containers.
        #[arg(long)]
        project: Option<String>,
        /// Also empty the CircleCI workflows' cache store (`save_cache`).
        #[arg(long)]
        caches: bool,
    },
    /// Print the JSON Schema of slipway.toml, for editors.
    Schema,
    /// Import a CircleCI config as a pipeline: print it, or --write it.
    ///
    /// Reads circle.yml (CircleCI 1.0) or .circleci/config.yml (2.x) and
    /// prints it as a commented slipway.toml; the lines that could not be
    /// imported, and the secrets deploy triggers need, go to stderr.
    Import {
        /// Project folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Write it to slipway.toml instead of printing it.
        #[arg(long)]
        write: bool,
        /// With --write: replace an existing slipway.toml.
        #[arg(long, requires = "write")]
        force: bool,
        /// Print JSON: the TOML, skipped and unmapped lines, secrets to set.
        #[arg(long)]
        json: bool,
    },
    /// Sign in to GitHub, a registry or CircleCI; the secret goes to the OS keychain.
    #[command(subcommand)]
    Login(accounts::Login),
    /// Sign out: remove the account and its secret from the keychain.
    Logout {
        service: accounts::Service,
        /// The host (default github.com or circleci.com; required for a registry).
        host: Option<String>,
    },
    /// Who you are signed in as, where. Never prints a secret.
    Whoami {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Give git the GitHub login's token for https (a credential helper).
    ///
    /// git runs it once `slipway login github --git` has set it up: it
    /// speaks git's credential protocol on standard input and output, and
    /// answers only for the hosts of a GitHub account signed in to Slipway.
    GitCredential {
        /// What git asks: get, store or erase.
        operation: String,
    },
    /// Store or remove a project's secret (deploy trigger URL, webhook secret).
    #[command(subcommand)]
    Secret(accounts::SecretCommand),
    /// Fire the project's deploy trigger for the green tip of its branch, once.
    ///
    /// The gate: the commit must be the tip of the trigger's branch on
    /// GitHub (the default branch unless the trigger names one) and its
    /// checks green; otherwise nothing is sent and the exit code is 4.
    Deploy {
        /// Project folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The trigger (may be left out when the project declares one).
        #[arg(long)]
        trigger: Option<String>,
        /// The commit to deploy (default: the branch's tip on GitHub).
        #[arg(long)]
        sha: Option<String>,
        /// Deploy even if the gate refuses (recorded with the deploy).
        #[arg(long)]
        force: bool,
        /// Deploy a commit already deployed through this trigger again.
        #[arg(long)]
        again: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List past deploys, newest first.
    Deploys {
        /// Only deploys of this project.
        #[arg(long)]
        project: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Push the image the pipeline built to the project's registry.
    ///
    /// The tags come from the [push] scheme in slipway.toml: the branch,
    /// the short SHA, and `latest` on the default branch. The image must have been built from HEAD with no uncommitted
    /// changes; the login is Slipway's (`slipway login registry`) or the
    /// docker CLI's.
    Push {
        /// Project folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Push under this tag instead of the scheme's.
        #[arg(long)]
        tag: Option<String>,
        /// Print one JSON line per event: the plan, each layer's progress, the report.
        #[arg(long)]
        json: bool,
    },
    /// Check the set-up: engine, git, keychain, accounts, history, the folder's pipeline.
    ///
    /// One line per check, with what to do when it fails. Exit 0 when all
    /// pass, 3 when the environment is the problem, 2 for a bad pipeline.
    Doctor {
        /// The folder whose pipeline is checked.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the shell completion script (`source <(slipway completions bash)`).
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Write the man pages into a folder (the packages carry them).
    #[command(hide = true)]
    ManPages {
        /// The folder to write `slipway.1` and `slipway-*.1` into.
        dir: PathBuf,
    },
    /// Pull requests: open, status, checks, rerun, watch, merge, disarm, list.
    #[command(subcommand)]
    Pr(pr::PrCommand),
    /// Every project's branches and pull requests, in one table.
    ///
    /// Each project's default branch and checked-out branch, and its
    /// repository's open pull requests, with their checks and reviews.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    // `--version` also asks the engine for its API version, so it runs
    // before clap, which would print the version alone.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let wants_version = matches!(args.as_slice(), [flag] if flag == "--version" || flag == "-V");
    let cli = match wants_version {
        true => None,
        false => Some(Cli::parse()),
    };
    // Warnings read as lines of the output; SLIPWAY_LOG asks for a log, with
    // times and sources.
    let logging = tracing_subscriber::fmt()
        .with_env_filter(slipway_core::logging::filter())
        .with_writer(std::io::stderr)
        .with_ansi(render::stderr_colored());
    if std::env::var_os(slipway_core::logging::LOG_ENV).is_some() {
        logging.init();
    } else {
        logging.without_time().with_target(false).init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_ENVIRONMENT);
        }
    };
    let Some(cli) = cli else {
        return ExitCode::from(runtime.block_on(setup::version()));
    };
    let json = match &cli.command {
        Command::Pr(command) => pr::wants_json(command),
        other => matches!(
            other,
            Command::Run { json: true, .. }
                | Command::History { json: true, .. }
                | Command::Logs { json: true, .. }
                | Command::Whoami { json: true }
                | Command::Import { json: true, .. }
                | Command::Deploy { json: true, .. }
                | Command::Deploys { json: true, .. }
                | Command::Push { json: true, .. }
                | Command::Doctor { json: true, .. }
                | Command::Status { json: true }
        ),
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(code) => ExitCode::from(code),
        Err(problem) => {
            render::problem(&problem, json);
            ExitCode::from(if problem.code.is_bad_input() {
                EXIT_BAD_INPUT
            } else {
                EXIT_ENVIRONMENT
            })
        }
    }
}

/// How long the engine may take to answer before recovery skips it.
const RECOVERY_ENGINE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Finishes runs whose process is gone (their containers removed, their
/// history marked interrupted) and says so once.
async fn recover_orphans(engine: Option<&Engine>) {
    let connected;
    let engine = match engine {
        Some(e) => Some(e),
        None => {
            connected = tokio::time::timeout(RECOVERY_ENGINE_WAIT, Engine::connect())
                .await
                .ok()
                .and_then(Result::ok);
            connected.as_ref()
        }
    };
    let recovered = slipway_core::recover::recover(engine, None).await;
    if let Some(summary) = recovered.summary() {
        eprintln!("note: {summary}");
    }
}

async fn dispatch(command: Command) -> Result<u8, Problem> {
    if matches!(
        command,
        Command::History { .. }
            | Command::Logs { .. }
            | Command::Clean { .. }
            | Command::Deploy { .. }
            | Command::Deploys { .. }
    ) {
        recover_orphans(None).await;
    }
    match command {
        Command::Run {
            dir,
            json,
            verbose,
            at: Some(reference),
            ..
        } => run::run_at(dir, &reference, json, verbose).await,
        Command::Run {
            dir,
            json,
            verbose,
            workflow,
            ..
        } => run::run_command(dir, json, verbose, workflow).await,
        Command::Pr(command) => pr::run(command).await,
        Command::Status { json } => pr::status_all(json).await,
        Command::Init { dir, force } => run::init(dir, force),
        Command::Deploy {
            dir,
            trigger,
            sha,
            force,
            again,
            json,
        } => {
            deploy::run(
                &dir,
                deploy::Args {
                    trigger,
                    sha,
                    force,
                    again,
                    json,
                },
            )
            .await
        }
        Command::Deploys {
            project,
            limit,
            json,
        } => deploy::list(project, limit, json),
        Command::Push { dir, tag, json } => push::run(&dir, tag, json).await,
        Command::Doctor { dir, json } => setup::doctor(&dir, json).await,
        Command::Completions { shell } => setup::completions(shell),
        Command::ManPages { dir } => setup::man_pages(&dir),
        Command::Import {
            dir,
            write,
            force,
            json,
        } => import::run(&dir, write, force, json),
        Command::History {
            project,
            limit,
            json,
        } => history::history(project, limit, json),
        Command::Logs { run, json } => history::logs(&run, json),
        Command::Clean { project, caches } => history::clean(project, caches).await,
        Command::Login(login) => accounts::login(login).await,
        Command::Logout { service, host } => accounts::logout(service, host).await,
        Command::Whoami { json } => accounts::whoami(json).await,
        Command::GitCredential { operation } => accounts::git_credential(&operation).await,
        Command::Secret(command) => accounts::secret(command).await,
        Command::Schema => {
            out!(
                "{}",
                serde_json::to_string_pretty(&config::json_schema()).unwrap_or_default()
            );
            Ok(EXIT_PASSED)
        }
    }
}
