//! What a folder holds, as the desktop app shows it before any run: its
//! Dockerfile, pipeline file (or why it does not parse), and git state.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config;
use crate::event::StepInfo;
use crate::github::GithubRepo;
use crate::{ErrorCode, Problem};

/// A project folder and what was detected in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProjectInfo {
    /// Canonical folder path.
    pub path: PathBuf,
    /// Project name (the folder's, Docker-safe).
    pub name: String,
    /// Whether there is a Dockerfile at the root.
    pub has_dockerfile: bool,
    /// Whether there is a `slipway.toml`.
    pub has_pipeline_file: bool,
    /// The CI file the pipeline is imported from when there is no
    /// `slipway.toml` (`circle.yml`, `.circleci/config.yml`).
    pub imported_from: Option<String>,
    /// The image the pipeline builds, when it loads.
    pub image: Option<String>,
    /// The steps of the pipeline, when it loads.
    pub steps: Vec<StepInfo>,
    /// Why the pipeline does not load.
    pub problem: Option<Problem>,
    /// Current git branch.
    pub git_branch: Option<String>,
    /// URL of the `origin` remote.
    pub git_remote: Option<String>,
    /// The GitHub repository `origin` names (github.com, or a GitHub
    /// Enterprise host the user is signed in to).
    pub github: Option<GithubRepo>,
    /// The CircleCI workflow `slipway run` runs, for a project with
    /// `.circleci/config.yml` and no `slipway.toml`.
    pub workflow: Option<crate::event::WorkflowInfo>,
}

/// The project folders added to the desktop app, most recent first
/// (`projects.json` in the config folder, which the app writes); empty when
/// there are none or the file cannot be read.
pub fn recent_paths() -> Vec<PathBuf> {
    #[derive(serde::Deserialize)]
    struct Recent {
        #[serde(default)]
        paths: Vec<PathBuf>,
    }
    crate::paths::config_dir()
        .and_then(|dir| std::fs::read(dir.join(RECENT_FILE)).ok())
        .and_then(|bytes| serde_json::from_slice::<Recent>(&bytes).ok())
        .map(|r| r.paths)
        .unwrap_or_default()
}

/// The pipeline of the project at `root`: its `slipway.toml`, or the one
/// imported from its CircleCI config, or the one inferred from its
/// Dockerfile. A `slipway.toml` always wins.
pub fn pipeline(root: &Path) -> Result<config::Pipeline, config::ConfigError> {
    let (root, file) = config::load_file(root)?;
    if let Some(pipeline) = file {
        return Ok(pipeline);
    }
    match crate::import::import(&root)? {
        Some(imported) => crate::import::pipeline(&root, &imported),
        None => config::infer(&root),
    }
}

/// A project's pipeline as committed at a reference, checked out in a
/// temporary worktree that lasts as long as this does.
#[derive(Debug)]
pub struct AtCommit {
    /// The pipeline, in the worktree, with the project's name.
    pub pipeline: config::Pipeline,
    /// The commit the reference names.
    pub commit: String,
    /// The worktree; removed when dropped.
    pub worktree: crate::git::Worktree,
}

/// The pipeline of the project in `dir` as committed at `reference` (a
/// branch, tag or SHA): the user's working tree and branch are not touched.
pub async fn pipeline_at(dir: &Path, reference: &str) -> Result<AtCommit, Problem> {
    let dir = check_folder(dir)?;
    let top = crate::git::run(&dir, &["rev-parse", "--show-toplevel"])
        .await
        .map_err(|e| e.problem())?;
    let prefix = crate::git::run(&dir, &["rev-parse", "--show-prefix"])
        .await
        .unwrap_or_default();
    let commit = match crate::git::resolve_commit(&dir, reference).await? {
        Some(commit) => Some(commit),
        // Not here yet (someone else's push): as `origin` has it.
        None if !reference.starts_with('-') => {
            match crate::git::run(&dir, &["fetch", "--quiet", "origin", reference]).await {
                Ok(_) => crate::git::resolve_commit(&dir, "FETCH_HEAD").await?,
                Err(_) => None,
            }
        }
        None => None,
    };
    let commit = commit.ok_or_else(|| {
            Problem::new(
                ErrorCode::NotFound,
                format!("{reference:?} names no commit in {}", dir.display()),
            )
            .with_hint("Give a branch, tag or commit (`git log --oneline` lists them); `git fetch` brings ones from GitHub.")
        })?;
    // The run keeps the project's name, whatever the commit's files say.
    let name = pipeline(&dir)
        .map(|p| p.project)
        .unwrap_or_else(|_| config::default_name(&dir));
    let worktree = crate::git::Worktree::add(Path::new(&top), &commit)
        .await
        .map_err(|e| e.problem())?;
    let folder = worktree.path().join(&prefix);
    let mut at = pipeline(&folder).map_err(|e| {
        let mut problem = e.problem();
        problem.message = format!("at {}: {}", crate::git::short_sha(&commit), problem.message);
        problem
    })?;
    at.project = name;
    Ok(AtCommit {
        pipeline: at,
        commit,
        worktree,
    })
}

/// The file in the config folder that lists the app's projects.
pub const RECENT_FILE: &str = "projects.json";

/// Checks that `path` is an existing folder and returns its canonical form.
pub fn check_folder(path: &Path) -> Result<PathBuf, Problem> {
    let canonical = path.canonicalize().map_err(|e| {
        Problem::new(
            ErrorCode::BadConfig,
            format!("cannot open {}: {e}", path.display()),
        )
        .with_hint("Choose an existing project folder.")
    })?;
    if !canonical.is_dir() {
        return Err(Problem::new(
            ErrorCode::BadConfig,
            format!("{} is not a folder", canonical.display()),
        )
        .with_hint("Choose the project's folder, not a file in it."));
    }
    Ok(canonical)
}

/// Inspects the project at `path`.
pub async fn inspect(path: &Path) -> Result<ProjectInfo, Problem> {
    let path = check_folder(path)?;
    let (git_branch, git_remote) =
        tokio::join!(crate::git::branch(&path), crate::git::remote_url(&path));
    Ok(describe(path, git_branch, git_remote))
}

/// [`inspect`] for code that cannot wait: it reads files only, unless the
/// repository's config needs `git` to resolve its origin (then it blocks on
/// one `git` call). The desktop's project list, which the window's first
/// paint waits for, answers this way without a hop to another thread.
pub fn inspect_now(path: &Path) -> Result<ProjectInfo, Problem> {
    let path = check_folder(path)?;
    let git_branch = crate::git::branch_now(&path);
    let git_remote = crate::git::remote_url_now(&path);
    Ok(describe(path, git_branch, git_remote))
}

fn describe(path: PathBuf, git_branch: Option<String>, git_remote: Option<String>) -> ProjectInfo {
    let mut workflow = None;
    let planned = crate::workflow::config_of(&path)
        .map(|_| crate::workflow::preview(&path, git_branch.clone()));
    let (image, steps, problem, imported_from) = match planned {
        Some(Ok(plan)) => {
            workflow = Some(crate::workflow::plan_info(&plan));
            (
                Some(format!("workflow {}", plan.name)),
                crate::workflow::plan_steps(&plan),
                None,
                Some(crate::workflow::CONFIG_PATH.to_string()),
            )
        }
        Some(Err(e)) => (None, Vec::new(), Some(e.problem()), None),
        None => match pipeline(&path) {
            Ok(p) => (
                Some(p.image.to_string()),
                crate::pipeline::plan(&p).infos(),
                None,
                match &p.source {
                    config::PipelineSource::Imported { path: file } => Some(
                        file.strip_prefix(&path)
                            .unwrap_or(file)
                            .display()
                            .to_string(),
                    ),
                    _ => None,
                },
            ),
            Err(e) => (None, Vec::new(), Some(e.problem()), None),
        },
    };
    // github.com needs no account; only another host is looked up among
    // the signed-in ones (a file read the project list otherwise skips).
    let github = git_remote.as_deref().and_then(|url| {
        GithubRepo::from_remote(url, &[]).or_else(|| {
            let hosts = crate::accounts::AccountStore::open_default()
                .map(|store| store.github_hosts())
                .unwrap_or_default();
            GithubRepo::from_remote(url, &hosts)
        })
    });
    ProjectInfo {
        name: config::default_name(&path),
        has_dockerfile: path.join("Dockerfile").is_file(),
        has_pipeline_file: path.join(config::FILE_NAME).is_file(),
        imported_from,
        image,
        steps,
        problem,
        git_branch,
        git_remote,
        workflow,
        github,
        path,
    }
}

#[cfg(test)]
mod tests {

    /// A classic circle.yml, for the pipeline's sources.
    const CLASSIC: &str = "dependencies:\n  override:\n    - docker build -t user/app .\ntest:\n  override:\n    - docker run -d -p 80:80 user/app; sleep 10\n";

    #[test]
    fn a_slipway_toml_wins() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("Dockerfile"), "FROM scratch\nEXPOSE 80\n").unwrap();
        std::fs::write(root.join(crate::import::CIRCLE_V1), CLASSIC).unwrap();
        let p = super::pipeline(root).unwrap();
        assert!(matches!(
            p.source,
            crate::config::PipelineSource::Imported { .. }
        ));
        std::fs::write(root.join("slipway.toml"), "[image]\nname = \"mine\"\n").unwrap();
        let p = super::pipeline(root).unwrap();
        assert!(matches!(
            p.source,
            crate::config::PipelineSource::File { .. }
        ));
        assert_eq!(p.image.name, "mine");
        assert!(root.join(crate::import::CIRCLE_V1).exists());
    }

    use std::process::Command;

    fn git(dir: &std::path::Path, args: &[&str]) {
        let status = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?} failed");
    }

    #[tokio::test]
    async fn detects_the_dockerfile_branch_and_remote_without_credentials() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        git(dir.path(), &["init", "-q", "-b", "feature/login"]);
        git(
            dir.path(),
            &[
                "remote",
                "add",
                "origin",
                "https://bob:ghp_x@github.com/o/r.git",
            ],
        );
        // No commit yet: the branch is known all the same.
        let info = super::inspect(dir.path()).await.unwrap();
        assert!(info.has_dockerfile);
        assert!(!info.has_pipeline_file);
        assert!(info.problem.is_none(), "{:?}", info.problem);
        assert_eq!(info.git_branch.as_deref(), Some("feature/login"));
        assert_eq!(
            info.git_remote.as_deref(),
            Some("https://github.com/o/r.git")
        );
        assert_eq!(
            info.github.map(|r| (r.full_name(), r.host)),
            Some(("o/r".into(), "github.com".into()))
        );

        let plain = tempfile::tempdir().unwrap();
        let info = super::inspect(plain.path()).await.unwrap();
        assert!(!info.has_dockerfile);
        assert_eq!(info.git_branch, None);
        assert_eq!(info.git_remote, None);
    }

    #[tokio::test]
    async fn reads_a_worktree_a_subfolder_and_a_detached_head_like_git() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("main");
        std::fs::create_dir_all(main.join("services/api")).unwrap();
        git(&main, &["init", "-q", "-b", "main"]);
        git(&main, &["remote", "add", "origin", "/srv/app.git"]);
        let commit = |at: &std::path::Path| {
            git(
                at,
                &[
                    "-c",
                    "user.name=t",
                    "-c",
                    "user.email=t@t",
                    "commit",
                    "-q",
                    "--allow-empty",
                    "-m",
                    "c",
                ],
            )
        };
        commit(&main);
        let worktree = dir.path().join("wt");
        git(
            &main,
            &[
                "worktree",
                "add",
                "-q",
                "-b",
                "feature",
                worktree.to_str().unwrap(),
            ],
        );
        for (at, branch) in [
            (main.join("services/api"), Some("main")),
            (worktree.clone(), Some("feature")),
        ] {
            let info = super::inspect(&at).await.unwrap();
            assert_eq!(info.git_branch.as_deref(), branch, "{}", at.display());
            assert_eq!(info.git_remote.as_deref(), Some("/srv/app.git"));
            let now = super::inspect_now(&at).unwrap();
            assert_eq!(
                (now.git_branch, now.git_remote),
                (info.git_branch, info.git_remote)
            );
        }
        git(&worktree, &["checkout", "-q", "--detach"]);
        assert_eq!(super::inspect(&worktree).await.unwrap().git_branch, None);
    }

    #[tokio::test]
    async fn asks_git_when_the_config_includes_another_file() {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q", "-b", "main"]);
        std::fs::write(
            dir.path().join(".git/extra"),
            "[remote \"origin\"]\n\turl = /srv/included.git\n",
        )
        .unwrap();
        git(dir.path(), &["config", "include.path", "extra"]);
        let info = super::inspect(dir.path()).await.unwrap();
        assert_eq!(info.git_remote.as_deref(), Some("/srv/included.git"));
        let now = super::inspect_now(dir.path()).unwrap();
        assert_eq!(now.git_remote.as_deref(), Some("/srv/included.git"));
        assert_eq!(now.git_branch.as_deref(), Some("main"));
    }
}
