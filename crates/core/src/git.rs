//! What Slipway reads from a project's git repository, through the `git` CLI.

use std::path::Path;

use crate::event::GitInfo;

/// The commit, branch and dirtiness of the repository at `root`, or `None`
/// when it is not a git repository (or git is not installed).
pub async fn inspect(root: &Path) -> Option<GitInfo> {
    let commit = git(root, &["rev-parse", "--verify", "-q", "HEAD"]).await?;
    let branch = branch(root).await;
    let dirty = git(root, &["status", "--porcelain", "--untracked-files=no"])
        .await
        .is_some_and(|s| !s.is_empty());
    Some(GitInfo {
        commit,
        branch,
        dirty,
    })
}

/// The checked-out branch of the repository at `root`, or `None` when HEAD
/// is detached or `root` is not in a git repository. One `git` call, where
/// [`inspect`] needs three.
pub async fn branch(root: &Path) -> Option<String> {
    git(root, &["symbolic-ref", "--short", "-q", "HEAD"]).await
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

/// The URL of the `origin` remote, if any, without any credentials it
/// embeds (`https://user:token@host/...` becomes `https://host/...`).
pub async fn remote_url(root: &Path) -> Option<String> {
    git(root, &["remote", "get-url", "origin"])
        .await
        .filter(|u| !u.is_empty())
        .map(|u| strip_credentials(&u))
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

#[cfg(test)]
mod tests {
    use super::strip_credentials;

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
