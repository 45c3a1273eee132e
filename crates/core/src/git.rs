//! What Slipway reads from a project's git repository, through the `git` CLI.

use std::path::Path;

use crate::event::GitInfo;

/// The commit, branch and dirtiness of the repository at `root`, or `None`
/// when it is not a git repository (or git is not installed).
pub async fn inspect(root: &Path) -> Option<GitInfo> {
    let commit = git(root, &["rev-parse", "--verify", "-q", "HEAD"]).await?;
    let branch = git(root, &["symbolic-ref", "--short", "-q", "HEAD"]).await;
    let dirty = git(root, &["status", "--porcelain", "--untracked-files=no"])
        .await
        .is_some_and(|s| !s.is_empty());
    Some(GitInfo {
        commit,
        branch,
        dirty,
    })
}

async fn git(root: &Path, args: &[&str]) -> Option<String> {
    let output = tokio::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
}
