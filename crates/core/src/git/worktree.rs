//! A temporary worktree of one commit: the exact files a push sends, to
//! run the pipeline on without touching the user's working tree. It is
//! removed (and git's record of it pruned) when dropped.

use std::path::{Path, PathBuf};

use super::{GitError, git_command, run};

/// A detached worktree of a commit in a temporary folder.
#[derive(Debug)]
pub struct Worktree {
    repository: PathBuf,
    path: PathBuf,
    _folder: tempfile::TempDir,
}

impl Worktree {
    /// Checks out `commit` of the repository at `root` in a new temporary
    /// folder named like `root` (so the pipeline's default name is the same).
    pub async fn add(root: &Path, commit: &str) -> Result<Self, GitError> {
        let folder = tempfile::Builder::new()
            .prefix("slipway-worktree-")
            .tempdir()
            .map_err(|e| GitError::Failed {
                command: "worktree add".into(),
                code: None,
                stderr: format!("no temporary folder: {e}"),
            })?;
        let name = root.file_name().unwrap_or(std::ffi::OsStr::new("project"));
        let path = folder.path().join(name);
        let target = path.to_string_lossy().to_string();
        run(
            root,
            &["worktree", "add", "--detach", "--quiet", &target, commit],
        )
        .await?;
        Ok(Worktree {
            repository: root.to_path_buf(),
            path,
            _folder: folder,
        })
    }

    /// Its folder.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        let target = self.path.to_string_lossy().to_string();
        let removed = git_command(
            &self.repository,
            &["worktree", "remove", "--force", &target],
        )
        .output();
        if !removed.is_ok_and(|o| o.status.success()) {
            tracing::warn!(worktree = %target, "could not remove the temporary worktree");
        }
        if let Err(e) = git_command(&self.repository, &["worktree", "prune"]).output() {
            tracing::debug!(error = %e, "git worktree prune");
        }
    }
}
