//! `slipway doctor`: what is wrong with the set-up, one check per part (the
//! Docker engine, git, the keychain, each account, the history, the
//! folder's pipeline), each with what to do when it fails. The CLI and the
//! window's Settings show the same list.

use std::path::Path;

use serde::Serialize;

use crate::accounts::{AccountStore, SecretState};
use crate::engine::{Endpoint, EndpointOrigin, Engine};

/// How one check came out.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Works.
    Pass,
    /// Works, with something worth knowing (a token missing a scope).
    Warn,
    /// Does not work: the hint says what to do.
    Fail,
    /// Nothing to check (no pipeline in the folder, no account).
    Skip,
}

/// What a failure is the fault of: the exit code follows it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Blame {
    /// The machine, a service or a login.
    Environment,
    /// The folder's pipeline file.
    Pipeline,
}

/// One line of the report.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheck {
    /// What was checked ("Docker engine", "GitHub github.com").
    pub name: String,
    pub verdict: Verdict,
    /// What was found, or what is wrong.
    pub detail: String,
    /// What to do, when it failed or warned.
    pub hint: Option<String>,
    /// The same as an action each front end words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedy: Option<crate::Remedy>,
    pub blame: Blame,
}

impl HealthCheck {
    fn new(name: impl Into<String>, verdict: Verdict, detail: impl Into<String>) -> Self {
        HealthCheck {
            name: name.into(),
            verdict,
            detail: detail.into(),
            hint: None,
            remedy: None,
            blame: Blame::Environment,
        }
    }

    fn failed(name: impl Into<String>, problem: &crate::Problem) -> Self {
        HealthCheck {
            hint: problem.hint.clone(),
            remedy: problem.remedy.clone(),
            ..HealthCheck::new(name, Verdict::Fail, problem.message.clone())
        }
    }
}

/// Runs every check; `dir` is the folder whose pipeline is checked.
pub async fn run(dir: &Path) -> Vec<HealthCheck> {
    let (engine, git, keychain_and_accounts, history) =
        tokio::join!(engine(), git(), accounts(), history());
    let mut checks = vec![engine, git];
    checks.extend(keychain_and_accounts);
    checks.push(history);
    checks.push(pipeline(dir));
    checks
}

/// The exit code a report calls for: 0 when nothing failed, 3 when the
/// environment did, 2 when only the pipeline did.
pub fn exit_code(checks: &[HealthCheck]) -> u8 {
    let failed = |blame| {
        checks
            .iter()
            .any(|c| c.verdict == Verdict::Fail && c.blame == blame)
    };
    if failed(Blame::Environment) {
        3
    } else if failed(Blame::Pipeline) {
        2
    } else {
        0
    }
}

async fn engine() -> HealthCheck {
    const NAME: &str = "Docker engine";
    let endpoint = match Endpoint::from_env() {
        Ok(e) => e,
        Err(e) => return HealthCheck::failed(NAME, &e.problem()),
    };
    let chosen = match &endpoint.origin {
        EndpointOrigin::Default => "the default socket".to_string(),
        EndpointOrigin::DockerHost => "DOCKER_HOST".to_string(),
        EndpointOrigin::Context(name) => format!("docker context {name:?}"),
    };
    let engine = match Engine::connect_to(endpoint.clone()).await {
        Ok(e) => e,
        Err(e) => {
            let problem = e.problem();
            return HealthCheck {
                detail: format!("{} (chosen by {chosen})", problem.message),
                ..HealthCheck::failed(NAME, &problem)
            };
        }
    };
    let docker = engine.docker();
    let (version, info) = tokio::join!(docker.version(), docker.info());
    let version = version.ok();
    let mut detail = format!(
        "{} (chosen by {chosen}), Docker {}, API {}",
        endpoint.host,
        version
            .as_ref()
            .and_then(|v| v.version.clone())
            .unwrap_or_else(|| "?".into()),
        docker.client_version()
    );
    let root = info.ok().and_then(|i| i.docker_root_dir);
    let local = endpoint.host.starts_with("unix://");
    let mut verdict = Verdict::Pass;
    let mut hint = None;
    if let Some(free) = root.as_deref().filter(|_| local).and_then(free_bytes) {
        detail.push_str(&format!(
            ", {} free in {}",
            human_bytes(free),
            root.as_deref().unwrap_or_default()
        ));
        if free < LOW_DISK {
            verdict = Verdict::Warn;
            hint = Some(
                "Builds may fail for want of space: `docker system prune` frees unused images and build cache."
                    .into(),
            );
        }
    }
    HealthCheck {
        hint,
        ..HealthCheck::new(NAME, verdict, detail)
    }
}

/// Free space below which the engine's data root is worth a warning.
const LOW_DISK: u64 = 2 << 30;

/// Free bytes on the file system holding `path`, when it can be read here.
fn free_bytes(path: &str) -> Option<u64> {
    let out = std::process::Command::new("df")
        .args(["-Pk", path])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().nth(1)?;
    let available: u64 = line.split_whitespace().nth(3)?.parse().ok()?;
    Some(available * 1024)
}

fn human_bytes(n: u64) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    const MIB: f64 = (1u64 << 20) as f64;
    match n as f64 {
        b if b >= GIB => format!("{:.1} GiB", b / GIB),
        b => format!("{:.0} MiB", b / MIB),
    }
}

async fn git() -> HealthCheck {
    const NAME: &str = "git";
    match tokio::process::Command::new("git")
        .arg("--version")
        .output()
        .await
    {
        Ok(out) if out.status.success() => HealthCheck::new(
            NAME,
            Verdict::Pass,
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        ),
        _ => HealthCheck {
            hint: Some(
                "Install git (`apt install git`): branches, pushes and pull requests use it."
                    .into(),
            ),
            ..HealthCheck::new(
                NAME,
                Verdict::Fail,
                "git is not installed (no `git` on PATH)",
            )
        },
    }
}

/// The keychain, then each account.
async fn accounts() -> Vec<HealthCheck> {
    const KEYCHAIN: &str = "Keychain";
    let store = match AccountStore::open_default() {
        Ok(s) => s,
        Err(e) => return vec![HealthCheck::failed("Accounts", &e.problem())],
    };
    let listed = match store.list().await {
        Ok(l) => l,
        Err(e) => return vec![HealthCheck::failed("Accounts", &e.problem())],
    };
    let mut checks = vec![match keychain().await {
        Ok(detail) => HealthCheck::new(KEYCHAIN, Verdict::Pass, detail),
        Err(problem) => HealthCheck::failed(KEYCHAIN, &problem),
    }];
    if let Some(problem) = &listed.keychain {
        checks[0] = HealthCheck::failed(KEYCHAIN, problem);
    }
    if listed.accounts.is_empty() {
        let remedy = crate::Remedy::sign_in(crate::Service::Github, None);
        checks.push(HealthCheck {
            hint: Some("Sign in to GitHub for pull requests and deploys.".into()),
            remedy: Some(remedy),
            ..HealthCheck::new("Accounts", Verdict::Skip, "not signed in anywhere")
        });
    }
    let each = listed.accounts.iter().map(|account| {
        let store = &store;
        async move {
            let name = format!("{} {}", account.kind.service(), account.host);
            if account.secret == SecretState::Missing {
                let service = match account.kind {
                    crate::accounts::AccountKind::Github => crate::Service::Github,
                    crate::accounts::AccountKind::Registry => crate::Service::Registry,
                    crate::accounts::AccountKind::Circleci => crate::Service::Circleci,
                };
                let remedy = crate::Remedy::sign_in(service, Some(&account.host));
                return HealthCheck {
                    hint: Some(remedy.words()),
                    remedy: Some(remedy),
                    ..HealthCheck::new(
                        name,
                        Verdict::Fail,
                        "its secret is missing from the keychain",
                    )
                };
            }
            match store.check(account).await {
                Ok(detail) if detail.contains("; ") => HealthCheck {
                    hint: Some("Create a token with the missing scopes and sign in again.".into()),
                    ..HealthCheck::new(name, Verdict::Warn, detail)
                },
                Ok(detail) => HealthCheck::new(name, Verdict::Pass, detail),
                Err(e) => HealthCheck::failed(name, &e.problem()),
            }
        }
    });
    checks.extend(futures_util::future::join_all(each).await);
    checks
}

/// Whether the keychain answers and is unlocked, asked without writing
/// (so a locked keychain does not prompt).
async fn keychain() -> Result<String, crate::Problem> {
    tokio::task::spawn_blocking(crate::secrets::status)
        .await
        .map_err(|e| crate::Problem::new(crate::ErrorCode::KeychainUnavailable, e.to_string()))?
        .map(|()| "the Secret Service answers and is unlocked".to_string())
        .map_err(|e| e.problem())
}

async fn history() -> HealthCheck {
    const NAME: &str = "History";
    let result = tokio::task::spawn_blocking(|| {
        let history = crate::store::History::open_default()?;
        if let Some(e) = history.unwritable() {
            return Err(e.clone());
        }
        let runs = history.run_count()?;
        let aside = history.moved_aside().map(Path::to_path_buf);
        Ok::<_, crate::store::HistoryError>((history.path().to_path_buf(), runs, aside))
    })
    .await;
    match result {
        Ok(Ok((path, runs, None))) => HealthCheck::new(
            NAME,
            Verdict::Pass,
            format!("{} ({runs} runs, healthy)", path.display()),
        ),
        Ok(Ok((path, _, Some(aside)))) => HealthCheck::new(
            NAME,
            Verdict::Warn,
            format!(
                "{} was damaged: it is kept at {} and a new one is started",
                path.display(),
                aside.display()
            ),
        ),
        Ok(Err(e)) => HealthCheck::failed(NAME, &e.problem()),
        Err(e) => HealthCheck::new(NAME, Verdict::Fail, e.to_string()),
    }
}

fn pipeline(dir: &Path) -> HealthCheck {
    const NAME: &str = "Pipeline";
    let dir = &dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let has_config = dir.join(crate::config::FILE_NAME).is_file();
    let has_dockerfile = dir.join("Dockerfile").is_file();
    let has_ci = crate::import::find(dir).is_some();
    if !has_config && !has_dockerfile && !has_ci {
        return HealthCheck::new(
            NAME,
            Verdict::Skip,
            format!("{} has no Dockerfile or slipway.toml", dir.display()),
        );
    }
    // A CircleCI 2.x config without slipway.toml runs as a workflow.
    if crate::workflow::config_of(dir).is_some() {
        let branch = crate::git::branch_now(dir);
        return match crate::workflow::preview(dir, branch) {
            Ok(plan) => HealthCheck::new(
                NAME,
                Verdict::Pass,
                format!(
                    "CircleCI workflow {} of {}: {} job{}",
                    plan.name,
                    crate::workflow::CONFIG_PATH,
                    plan.jobs.len(),
                    if plan.jobs.len() == 1 { "" } else { "s" }
                ),
            ),
            Err(e) => HealthCheck {
                blame: Blame::Pipeline,
                ..HealthCheck::failed(NAME, &e.problem())
            },
        };
    }
    match crate::project::pipeline(dir) {
        Ok(p) => {
            let from = match &p.source {
                crate::config::PipelineSource::File { path } => path.display().to_string(),
                crate::config::PipelineSource::Inferred => "inferred from the Dockerfile".into(),
                crate::config::PipelineSource::Imported { path } => {
                    format!("imported from {}", path.display())
                }
            };
            let ready = if p.ready.is_some() {
                ", readiness probe"
            } else {
                ""
            };
            HealthCheck::new(
                NAME,
                Verdict::Pass,
                format!(
                    "{from}: builds {}, {} port{}{ready}, {} test step{}",
                    p.image,
                    p.run.ports.len(),
                    if p.run.ports.len() == 1 { "" } else { "s" },
                    p.tests.len(),
                    if p.tests.len() == 1 { "" } else { "s" }
                ),
            )
        }
        Err(e) => HealthCheck {
            blame: Blame::Pipeline,
            ..HealthCheck::failed(NAME, &e.problem())
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_code_blames_the_environment_first() {
        let pass = HealthCheck::new("a", Verdict::Pass, "");
        let warn = HealthCheck::new("b", Verdict::Warn, "");
        let env = HealthCheck::new("c", Verdict::Fail, "");
        let pipeline = HealthCheck {
            blame: Blame::Pipeline,
            ..HealthCheck::new("d", Verdict::Fail, "")
        };
        assert_eq!(exit_code(&[pass.clone(), warn.clone()]), 0);
        assert_eq!(exit_code(&[pass.clone(), pipeline.clone()]), 2);
        assert_eq!(exit_code(&[env, pipeline, pass]), 3);
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }

    #[test]
    fn a_broken_pipeline_is_the_pipelines_fault() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(pipeline(dir.path()).verdict, Verdict::Skip);
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\nEXPOSE 80\n").unwrap();
        let ok = pipeline(dir.path());
        assert_eq!(ok.verdict, Verdict::Pass, "{ok:?}");
        assert!(
            ok.detail.contains("inferred from the Dockerfile"),
            "{}",
            ok.detail
        );
        std::fs::write(dir.path().join("slipway.toml"), "[run]\nports = [\"x\"]\n").unwrap();
        let bad = pipeline(dir.path());
        assert_eq!((bad.verdict, bad.blame), (Verdict::Fail, Blame::Pipeline));
        assert!(bad.detail.contains("slipway.toml:2"), "{}", bad.detail);
    }

    #[test]
    fn a_circleci_workflow_is_checked_as_the_runner_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".circleci")).unwrap();
        let config = dir.path().join(".circleci/config.yml");
        std::fs::write(
            &config,
            "version: 2.1\njobs:\n  a: { docker: [{image: x}], steps: [checkout] }\n  b: { docker: [{image: x}], steps: [checkout] }\nworkflows:\n  main: { jobs: [a, { b: { requires: [a] } }] }\n",
        )
        .unwrap();
        let ok = pipeline(dir.path());
        assert_eq!(ok.verdict, Verdict::Pass, "{ok:?}");
        assert_eq!(
            ok.detail,
            "CircleCI workflow main of .circleci/config.yml: 2 jobs"
        );
        std::fs::write(
            &config,
            "version: 2.1\njobs:\n  a: { docker: [{image: x}], steps: [frobnicate] }\nworkflows:\n  main: { jobs: [a] }\n",
        )
        .unwrap();
        let bad = pipeline(dir.path());
        assert_eq!((bad.verdict, bad.blame), (Verdict::Fail, Blame::Pipeline));
        assert!(bad.detail.contains("config.yml:3"), "{}", bad.detail);
    }
}
