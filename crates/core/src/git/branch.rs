//! Working with a repository's branches through the `git` CLI, so the
//! user's credential helpers, SSH agent and URL rewrites apply as in their
//! terminal: where the branch stands against its upstream, a new feature
//! branch from the up-to-date default branch, and a push whose rejection
//! says why.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{GitError, git_command, run};
use crate::{ErrorCode, Problem};

/// Where the checked-out branch stands.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchStatus {
    /// The branch; `None` on a detached HEAD.
    pub branch: Option<String>,
    /// The commit checked out; `None` before the first commit.
    pub commit: Option<String>,
    /// Its upstream (`origin/feature`), when it has one.
    pub upstream: Option<String>,
    /// Commits on the branch that its upstream lacks.
    pub ahead: u32,
    /// Commits on the upstream that the branch lacks.
    pub behind: u32,
    /// Files with changes not committed (staged or not, and untracked).
    pub changed_files: u32,
}

/// The branch, its upstream and what differs, from one `git status`.
pub async fn status(root: &Path) -> Result<BranchStatus, GitError> {
    if super::repository(root).is_none() {
        return Err(GitError::NotARepository {
            path: root.to_path_buf(),
        });
    }
    let text = run(root, &["status", "--porcelain=v2", "--branch"]).await?;
    Ok(parse_status(&text))
}

fn parse_status(text: &str) -> BranchStatus {
    let mut status = BranchStatus {
        branch: None,
        commit: None,
        upstream: None,
        ahead: 0,
        behind: 0,
        changed_files: 0,
    };
    for line in text.lines() {
        if let Some(header) = line.strip_prefix("# ") {
            let (key, value) = header.split_once(' ').unwrap_or((header, ""));
            match key {
                "branch.oid" if value != "(initial)" => status.commit = Some(value.to_string()),
                "branch.head" if value != "(detached)" => status.branch = Some(value.to_string()),
                "branch.upstream" => status.upstream = Some(value.to_string()),
                "branch.ab" => {
                    for part in value.split_whitespace() {
                        if let Some(n) = part.strip_prefix('+') {
                            status.ahead = n.parse().unwrap_or(0);
                        } else if let Some(n) = part.strip_prefix('-') {
                            status.behind = n.parse().unwrap_or(0);
                        }
                    }
                }
                _ => {}
            }
        } else if !line.is_empty() && !line.starts_with("! ") {
            status.changed_files += 1;
        }
    }
    status
}

/// Creates `name` from the default branch as `remote` has it now (fetched
/// first) and switches to it. The work tree's uncommitted changes come
/// along, as with `git switch -c`.
pub async fn new_branch(
    root: &Path,
    remote: &str,
    default_branch: &str,
    name: &str,
) -> Result<(), GitError> {
    run(root, &["check-ref-format", "--branch", name])
        .await
        .map_err(|_| GitError::BadBranchName {
            name: name.to_string(),
        })?;
    run(root, &["fetch", "--quiet", remote, default_branch]).await?;
    let start = format!("{remote}/{default_branch}");
    run(
        root,
        &["switch", "--quiet", "--no-track", "-c", name, &start],
    )
    .await?;
    Ok(())
}

/// After a merge: switches to the default branch brought up to date with
/// `remote`'s, and deletes `merged` (the merged pull request's branch) when
/// its tip is still `merged_head`, the commit the pull request merged, so
/// nothing that was not merged is lost.
pub async fn switch_to_default(
    root: &Path,
    remote: &str,
    default_branch: &str,
    merged: Option<(&str, &str)>,
) -> Result<bool, GitError> {
    run(root, &["fetch", "--quiet", remote, default_branch]).await?;
    let upstream = format!("{remote}/{default_branch}");
    let exists = run(
        root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{default_branch}"),
        ],
    )
    .await
    .is_ok();
    match exists {
        true => {
            run(root, &["switch", "--quiet", default_branch]).await?;
            run(root, &["merge", "--quiet", "--ff-only", &upstream]).await?;
        }
        false => {
            run(
                root,
                &[
                    "switch",
                    "--quiet",
                    "-c",
                    default_branch,
                    "--track",
                    &upstream,
                ],
            )
            .await?;
        }
    }
    let Some((branch, head)) = merged.filter(|(b, _)| *b != default_branch) else {
        return Ok(false);
    };
    let tip = run(
        root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ],
    )
    .await
    .ok();
    if tip.as_deref() != Some(head) {
        return Ok(false);
    }
    run(root, &["branch", "--quiet", "-D", branch]).await?;
    Ok(true)
}

/// Why a push did not go through, in the terms the user acts on.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushRejection {
    /// The remote branch has commits the local one lacks.
    NonFastForward,
    /// Branch protection (or a server hook) refused the update.
    Protected,
    /// The remote did not accept the credentials, or there were none.
    Authentication,
    /// The remote could not be reached.
    Unreachable,
    /// Anything else git reported.
    Other,
}

impl PushRejection {
    /// Reads git's own words.
    fn classify(stderr: &str) -> Self {
        let text = stderr.to_ascii_lowercase();
        if text.contains("non-fast-forward")
            || text.contains("fetch first")
            || text.contains("[rejected]")
        {
            PushRejection::NonFastForward
        } else if text.contains("protected branch")
            || text.contains("gh006")
            || text.contains("pre-receive hook declined")
        {
            PushRejection::Protected
        } else if text.contains("authentication failed")
            || text.contains("permission denied")
            || text.contains("could not read username")
            || text.contains("403")
            || text.contains("invalid username or password")
        {
            PushRejection::Authentication
        } else if text.contains("could not resolve host")
            || text.contains("connection refused")
            || text.contains("unable to access")
            || text.contains("does not appear to be a git repository")
            || text.contains("could not read from remote repository")
        {
            PushRejection::Unreachable
        } else {
            PushRejection::Other
        }
    }

    /// What to do about it.
    pub fn hint(self, branch: &str) -> String {
        match self {
            PushRejection::NonFastForward => format!(
                "The remote {branch} has commits you do not have: `git pull --rebase`, then push again."
            ),
            PushRejection::Protected => format!(
                "{branch} is protected: push a feature branch and open a pull request instead."
            ),
            PushRejection::Authentication => "Check the credentials git uses for this remote \
                 (credential helper, SSH key), as `git push` in a terminal would."
                .into(),
            PushRejection::Unreachable => {
                "Check your connection and the remote's URL (`git remote -v`).".into()
            }
            PushRejection::Other => "See git's message above, then try again.".into(),
        }
    }

    /// Why, in words.
    fn words(self) -> &'static str {
        match self {
            PushRejection::NonFastForward => "the remote branch has commits you do not have",
            PushRejection::Protected => "the branch is protected",
            PushRejection::Authentication => "git had no credentials the remote accepts",
            PushRejection::Unreachable => "the remote could not be reached",
            PushRejection::Other => "git refused it",
        }
    }
}

/// A push git refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("git push of {branch} failed: {} ({detail})", reason.words())]
pub struct PushError {
    /// The branch pushed.
    pub branch: String,
    /// Why, in the user's terms.
    pub reason: PushRejection,
    /// git's last words.
    pub detail: String,
}

impl PushError {
    /// The problem as a user sees it.
    pub fn problem(&self) -> Problem {
        let code = match self.reason {
            PushRejection::Authentication => ErrorCode::AuthRejected,
            PushRejection::Unreachable => ErrorCode::ServiceUnavailable,
            PushRejection::NonFastForward | PushRejection::Protected => ErrorCode::Conflict,
            PushRejection::Other => ErrorCode::Io,
        };
        Problem::new(code, self.to_string()).with_hint(self.reason.hint(&self.branch))
    }
}

impl From<PushError> for Problem {
    fn from(e: PushError) -> Self {
        e.problem()
    }
}

/// Pushes `branch` to `remote` and sets it as the upstream; each line git
/// prints about its progress goes to `progress`.
pub async fn push(
    root: &Path,
    remote: &str,
    branch: &str,
    mut progress: impl FnMut(&str),
) -> Result<(), PushError> {
    use tokio::io::AsyncReadExt;
    let mut command = tokio::process::Command::from(git_command(
        root,
        &["push", "--progress", "--set-upstream", remote, branch],
    ));
    command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        // No terminal prompt for credentials: a helper or agent answers, or it fails.
        .env("GIT_TERMINAL_PROMPT", "0");
    let failed = |detail: String| PushError {
        branch: branch.to_string(),
        reason: PushRejection::Other,
        detail,
    };
    let mut child = command.spawn().map_err(|e| failed(e.to_string()))?;
    let mut stderr = child
        .stderr
        .take()
        .ok_or_else(|| failed("no stderr".into()))?;
    let mut said = String::new();
    let mut buffer = [0u8; 4096];
    let mut pending = String::new();
    loop {
        let n = stderr
            .read(&mut buffer)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if n == 0 {
            break;
        }
        pending.push_str(&String::from_utf8_lossy(&buffer[..n]));
        // git redraws progress with carriage returns: each redraw is a line.
        while let Some(at) = pending.find(['\n', '\r']) {
            let line = pending[..at].trim().to_string();
            pending.drain(..=at);
            if !line.is_empty() {
                progress(&line);
                said.push_str(&line);
                said.push('\n');
            }
        }
    }
    if !pending.trim().is_empty() {
        progress(pending.trim());
        said.push_str(pending.trim());
    }
    let status = child.wait().await.map_err(|e| failed(e.to_string()))?;
    if status.success() {
        return Ok(());
    }
    let detail = said
        .lines()
        .filter(|l| !l.starts_with("hint:"))
        .filter(|l| {
            l.contains("error")
                || l.contains("rejected")
                || l.contains("fatal")
                || l.contains("remote:")
        })
        .collect::<Vec<_>>()
        .join("; ");
    Err(PushError {
        branch: branch.to_string(),
        reason: PushRejection::classify(&said),
        detail: if detail.is_empty() {
            said.trim().to_string()
        } else {
            detail
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A bare remote with `main`, and a clone of it.
    fn remote_and_clone() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let remote = dir.path().join("remote.git");
        let work = dir.path().join("work");
        git(
            dir.path(),
            &[
                "init",
                "-q",
                "--bare",
                "-b",
                "main",
                remote.to_str().unwrap(),
            ],
        );
        git(
            dir.path(),
            &[
                "clone",
                "-q",
                remote.to_str().unwrap(),
                work.to_str().unwrap(),
            ],
        );
        git(&work, &["commit", "-q", "--allow-empty", "-m", "first"]);
        git(&work, &["push", "-q", "origin", "main"]);
        (dir, remote, work)
    }

    #[tokio::test]
    async fn status_outside_a_repository_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let err = status(dir.path()).await.unwrap_err();
        assert!(matches!(err, GitError::NotARepository { .. }), "{err:?}");
        assert_eq!(err.problem().code, ErrorCode::BadConfig);
    }

    #[test]
    fn status_lines_are_read() {
        let s = parse_status(
            "# branch.oid 0123abcd\n# branch.head feature\n# branch.upstream origin/feature\n# branch.ab +2 -1\n1 .M N... 100644 100644 100644 a b app.py\n? new.txt\n",
        );
        assert_eq!(s.branch.as_deref(), Some("feature"));
        assert_eq!(s.upstream.as_deref(), Some("origin/feature"));
        assert_eq!((s.ahead, s.behind, s.changed_files), (2, 1, 2));
        let detached = parse_status("# branch.oid (initial)\n# branch.head (detached)\n");
        assert_eq!((detached.branch, detached.commit), (None, None));
    }

    #[tokio::test]
    async fn a_feature_branch_is_made_pushed_and_tracked() {
        let (_dir, remote, work) = remote_and_clone();
        new_branch(&work, "origin", "main", "feature/login")
            .await
            .unwrap();
        git(&work, &["commit", "-q", "--allow-empty", "-m", "work"]);
        let before = status(&work).await.unwrap();
        assert_eq!(before.branch.as_deref(), Some("feature/login"));
        assert_eq!(before.upstream, None);
        let mut lines = Vec::new();
        push(&work, "origin", "feature/login", |l| {
            lines.push(l.to_string())
        })
        .await
        .unwrap();
        assert!(!lines.is_empty(), "git reports what it did");
        let after = status(&work).await.unwrap();
        assert_eq!(after.upstream.as_deref(), Some("origin/feature/login"));
        assert_eq!((after.ahead, after.behind), (0, 0));
        let remote_head = std::process::Command::new("git")
            .arg("-C")
            .arg(&remote)
            .args(["rev-parse", "feature/login"])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&remote_head.stdout).trim(),
            after.commit.unwrap()
        );
        let bad = new_branch(&work, "origin", "main", "no..dots")
            .await
            .unwrap_err();
        assert!(matches!(bad, GitError::BadBranchName { .. }), "{bad:?}");
    }

    #[tokio::test]
    async fn a_rejected_push_says_why() {
        let (dir, remote, work) = remote_and_clone();
        // Someone else pushed first.
        let other = dir.path().join("other");
        git(
            dir.path(),
            &[
                "clone",
                "-q",
                remote.to_str().unwrap(),
                other.to_str().unwrap(),
            ],
        );
        git(&other, &["commit", "-q", "--allow-empty", "-m", "theirs"]);
        git(&other, &["push", "-q", "origin", "main"]);
        git(&work, &["commit", "-q", "--allow-empty", "-m", "mine"]);
        let err = push(&work, "origin", "main", |_| {}).await.unwrap_err();
        assert_eq!(err.reason, PushRejection::NonFastForward, "{err}");
        assert!(
            err.problem()
                .hint
                .unwrap_or_default()
                .contains("git pull --rebase")
        );

        // A server that protects main, in GitHub's words.
        let hook = remote.join("hooks/pre-receive");
        std::fs::write(
            &hook,
            "#!/bin/sh\necho 'GH006: Protected branch update failed for refs/heads/main.' >&2\nexit 1\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        git(&work, &["pull", "-q", "--rebase", "origin", "main"]);
        let err = push(&work, "origin", "main", |_| {}).await.unwrap_err();
        assert_eq!(err.reason, PushRejection::Protected, "{err}");
        assert!(err.detail.contains("GH006"), "{err}");

        git(
            &work,
            &["remote", "set-url", "origin", "/nonexistent/remote.git"],
        );
        let err = push(&work, "origin", "main", |_| {}).await.unwrap_err();
        assert_eq!(err.reason, PushRejection::Unreachable, "{err}");
    }

    #[test]
    fn authentication_failures_are_named() {
        for said in [
            "remote: Invalid username or password.\nfatal: Authentication failed for 'https://github.com/o/r.git/'",
            "git@github.com: Permission denied (publickey).\nfatal: Could not read from remote repository.",
            "fatal: could not read Username for 'https://github.com': terminal prompts disabled",
        ] {
            assert_eq!(
                PushRejection::classify(said),
                PushRejection::Authentication,
                "{said}"
            );
        }
    }
}
