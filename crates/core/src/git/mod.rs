//! What Slipway reads from a project's git repository: through the `git`
//! CLI, or for the project list (the window's first paint waits for it)
//! straight from the repository's files, with no process to start; and
//! branches made and pushed through the `git` CLI ([`status`],
//! [`new_branch`], [`push`]).

mod branch;
mod worktree;

use std::path::{Path, PathBuf};

pub use branch::{
    BranchStatus, PushError, PushRejection, new_branch, push, status, switch_to_default,
};
pub use worktree::Worktree;

use crate::event::GitInfo;
use crate::{ErrorCode, Problem};

/// Why a git question got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitError {
    /// There is no `git` to run.
    #[error("git is not installed (no `git` on PATH)")]
    NotInstalled,
    /// The folder is not in a git repository.
    #[error("{} is not in a git repository", .path.display())]
    NotARepository { path: PathBuf },
    /// The repository has no commit yet.
    #[error("the repository at {} has no commit yet", .path.display())]
    NoCommit { path: PathBuf },
    /// Not a name git accepts for a branch.
    #[error("{name:?} is not a valid branch name")]
    BadBranchName { name: String },
    /// A git command failed; `stderr` is what git said.
    #[error("`git {command}` failed: {stderr}")]
    Failed {
        command: String,
        code: Option<i32>,
        stderr: String,
    },
}

impl GitError {
    /// The problem as a user sees it.
    pub fn problem(&self) -> Problem {
        match self {
            GitError::NotInstalled => Problem::new(ErrorCode::Io, self.to_string())
                .with_hint("Install git (`apt install git`), then try again."),
            GitError::NotARepository { .. } => Problem::new(ErrorCode::BadConfig, self.to_string())
                .with_hint("Open the repository's folder, or run `git init` there."),
            GitError::NoCommit { .. } => Problem::new(ErrorCode::BadConfig, self.to_string())
                .with_hint("Commit your work first (`git commit`)."),
            GitError::BadBranchName { .. } => Problem::new(ErrorCode::BadConfig, self.to_string())
                .with_hint("Use letters, digits, '-', '_' and '/', like feature/login."),
            GitError::Failed { .. } => Problem::new(ErrorCode::Io, self.to_string()),
        }
    }
}

impl From<GitError> for Problem {
    fn from(e: GitError) -> Self {
        e.problem()
    }
}

/// The commit, branch and dirtiness of the repository at `root`.
pub async fn inspect(root: &Path) -> Result<GitInfo, GitError> {
    if repository(root).is_none() {
        return Err(GitError::NotARepository {
            path: root.to_path_buf(),
        });
    }
    // Each is a `git` process: asked together, the run starts sooner.
    let (commit, branch, status) = tokio::join!(
        run(root, &["rev-parse", "--verify", "-q", "HEAD"]),
        branch(root),
        run(root, &["status", "--porcelain", "--untracked-files=no"]),
    );
    let commit = commit.map_err(|e| match e {
        GitError::Failed { code: Some(1), .. } => GitError::NoCommit {
            path: root.to_path_buf(),
        },
        other => other,
    })?;
    let dirty = !status?.is_empty();
    Ok(GitInfo {
        commit,
        branch,
        dirty,
    })
}

/// The checked-out branch of the repository at `root`, or `None` when HEAD
/// is detached or `root` is not in a git repository. Read from `HEAD`; one
/// `git` call when the repository's files cannot be read.
pub async fn branch(root: &Path) -> Option<String> {
    match branch_in_files(root) {
        Ok(branch) => branch,
        Err(()) => run(root, &BRANCH_ARGS).await.ok(),
    }
}

/// The remote's default branch, as `origin/HEAD` names it (`git clone`
/// sets it; `git remote set-head origin --auto` does later); `None` when
/// it is not set.
pub async fn default_branch(root: &Path) -> Option<String> {
    run(
        root,
        &["symbolic-ref", "--short", "-q", "refs/remotes/origin/HEAD"],
    )
    .await
    .ok()
    .and_then(|r| r.strip_prefix("origin/").map(str::to_owned))
}

/// [`branch`] for code that cannot wait (the project list): the `git` call,
/// when needed, blocks.
pub fn branch_now(root: &Path) -> Option<String> {
    branch_in_files(root).unwrap_or_else(|()| run_now(root, &BRANCH_ARGS).ok())
}

const BRANCH_ARGS: [&str; 4] = ["symbolic-ref", "--short", "-q", "HEAD"];
/// `origin`'s URL as configured, before any `url.*.insteadOf` rewrite (the
/// repository it names; pushes still go through git, which rewrites).
const REMOTE_ARGS: [&str; 3] = ["config", "--get", "remote.origin.url"];

/// The branch as the repository's files state it; `Err` when only git can
/// tell.
fn branch_in_files(root: &Path) -> Result<Option<String>, ()> {
    let Some(repo) = repository(root) else {
        return Ok(None);
    };
    let head = std::fs::read_to_string(repo.git_dir.join("HEAD")).map_err(|_| ())?;
    Ok(head
        .trim()
        .strip_prefix("ref: refs/heads/")
        .map(str::to_owned))
}

/// Where a repository keeps its files.
struct Repository {
    /// `.git`, or a linked worktree's own directory.
    git_dir: PathBuf,
    /// Where the config is (the main `.git` for a linked worktree).
    common_dir: PathBuf,
}

/// The repository `root` is in: the nearest `.git` folder, or `.git` file
/// (`gitdir: ...`, a linked worktree or submodule), at or above it.
fn repository(root: &Path) -> Option<Repository> {
    for dir in root.ancestors() {
        let dot = dir.join(".git");
        let git_dir = if dot.is_dir() {
            dot
        } else if dot.is_file() {
            let text = std::fs::read_to_string(&dot).ok()?;
            dir.join(text.trim().strip_prefix("gitdir:")?.trim())
        } else {
            continue;
        };
        let common_dir = match std::fs::read_to_string(git_dir.join("commondir")) {
            Ok(rel) => git_dir.join(rel.trim()),
            Err(_) => git_dir.clone(),
        };
        return Some(Repository {
            git_dir,
            common_dir,
        });
    }
    None
}

/// `origin`'s URL as the repository's config file states it: `Ok(None)`
/// when there is none, `Err(())` when only git can tell (the config
/// includes other files). URL rewrites are not applied.
fn origin_in_config(config: &str) -> Result<Option<String>, ()> {
    let mut in_origin = false;
    let mut url = None;
    for line in config.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let header = header.split(']').next().unwrap_or("").trim();
            let (section, sub) = match header.split_once(char::is_whitespace) {
                Some((section, sub)) => (section, sub.trim().trim_matches('"')),
                None => (header, ""),
            };
            if section.eq_ignore_ascii_case("include") || section.eq_ignore_ascii_case("includeIf")
            {
                return Err(());
            }
            in_origin = section.eq_ignore_ascii_case("remote") && sub == "origin";
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        let key = key.trim();
        if in_origin && key.eq_ignore_ascii_case("url") && url.is_none() {
            url = Some(value.trim().trim_matches('"').to_owned());
        }
    }
    Ok(url.filter(|u| !u.is_empty()))
}

/// Runs `git -C root args...` and returns what it printed, trimmed.
pub(crate) async fn run(root: &Path, args: &[&str]) -> Result<String, GitError> {
    let output = tokio::process::Command::from(git_command(root, args))
        .output()
        .await;
    answer(args, output)
}

/// The commit `reference` names in the repository at `root`, if any.
pub async fn resolve_commit(root: &Path, reference: &str) -> Result<Option<String>, Problem> {
    if reference.starts_with('-') || reference.trim().is_empty() {
        return Ok(None);
    }
    let target = format!("{reference}^{{commit}}");
    match run(root, &["rev-parse", "--verify", "-q", &target]).await {
        Ok(sha) if !sha.is_empty() => Ok(Some(sha)),
        Ok(_) | Err(GitError::Failed { .. }) => Ok(None),
        Err(e) => Err(e.problem()),
    }
}

/// `git -C root args...`, reading nothing from stdin.
pub(crate) fn git_command(root: &Path, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new("git");
    command
        .arg("-C")
        .arg(root)
        .args(args)
        .stdin(std::process::Stdio::null());
    command
}

/// What a `git` call printed, or why it failed.
fn answer(
    args: &[&str],
    output: std::io::Result<std::process::Output>,
) -> Result<String, GitError> {
    let output = output.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => GitError::NotInstalled,
        _ => GitError::Failed {
            command: args.join(" "),
            code: None,
            stderr: e.to_string(),
        },
    })?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).trim().to_string());
    }
    Err(GitError::Failed {
        command: args.join(" "),
        code: output.status.code(),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
    })
}

/// The URL of the `origin` remote, if any, without any credentials it
/// embeds (`https://user:token@host/...` becomes `https://host/...`). Read
/// from the repository's config; one `git` call when only git can tell.
pub async fn remote_url(root: &Path) -> Option<String> {
    let url = match remote_in_files(root) {
        Ok(url) => url,
        Err(()) => run(root, &REMOTE_ARGS).await.ok(),
    };
    url.filter(|u| !u.is_empty()).map(|u| strip_credentials(&u))
}

/// [`remote_url`] for code that cannot wait (the project list).
pub fn remote_url_now(root: &Path) -> Option<String> {
    remote_in_files(root)
        .unwrap_or_else(|()| run_now(root, &REMOTE_ARGS).ok())
        .filter(|u| !u.is_empty())
        .map(|u| strip_credentials(&u))
}

fn remote_in_files(root: &Path) -> Result<Option<String>, ()> {
    let Some(repo) = repository(root) else {
        return Ok(None);
    };
    let config = std::fs::read_to_string(repo.common_dir.join("config")).map_err(|_| ())?;
    origin_in_config(&config)
}

/// [`run`], blocking.
fn run_now(root: &Path, args: &[&str]) -> Result<String, GitError> {
    answer(args, git_command(root, args).output())
}

fn strip_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host_start = rest.find('/').unwrap_or(rest.len());
            match rest[..host_start].rfind('@') {
                Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

/// A commit's short form, as git shows it (`a1b2c3d`).
pub fn short_sha(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use super::{GitError, inspect, origin_in_config, strip_credentials};

    #[tokio::test]
    async fn inspect_says_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let err = inspect(dir.path()).await.unwrap_err();
        assert!(matches!(err, GitError::NotARepository { .. }), "{err:?}");
        let status = std::process::Command::new("git")
            .args(["init", "-q", "-b", "main"])
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        let err = inspect(dir.path()).await.unwrap_err();
        assert!(matches!(err, GitError::NoCommit { .. }), "{err:?}");
        assert!(
            err.problem()
                .hint
                .unwrap_or_default()
                .contains("git commit")
        );
    }

    #[test]
    fn origin_is_read_from_the_config_unless_git_must_resolve_it() {
        let config = "[core]\n\tbare = false\n[remote \"upstream\"]\n\turl = https://up/x.git\n\
                      # a comment\n[remote \"origin\"]\n\turl = git@github.com:o/r.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n";
        assert_eq!(
            origin_in_config(config),
            Ok(Some("git@github.com:o/r.git".into()))
        );
        assert_eq!(origin_in_config("[core]\n\tbare = false\n"), Ok(None));
        assert_eq!(
            origin_in_config("[Remote \"origin\"]\nURL = \"/srv/r.git\"\n"),
            Ok(Some("/srv/r.git".into()))
        );
        assert_eq!(origin_in_config("[include]\n\tpath = more\n"), Err(()));
        // Rewrites are git's business at push time: the configured URL stands.
        assert_eq!(
            origin_in_config(
                "[url \"git@h:\"]\n\tinsteadOf = https://h/\n[remote \"origin\"]\n\turl = https://h/o/r\n"
            ),
            Ok(Some("https://h/o/r".into()))
        );
    }

    #[test]
    fn credentials_never_leave_a_remote_url() {
        assert_eq!(
            strip_credentials("https://bob:ghp_secret@github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(
            strip_credentials("https://github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(
            strip_credentials("git@github.com:o/r.git"),
            "git@github.com:o/r.git"
        );
    }
}
