//! A child started in a process group of its own, killed whole (the shell
//! and what it started) when the work that owns it ends early.

use std::process::Stdio;

/// Kills the process group led by this pid when dropped.
pub(crate) struct GroupGuard(pub(crate) Option<u32>);

impl GroupGuard {
    /// The work ended as it should: what the group left running stays.
    pub(crate) fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            // The group may be gone already; failure to signal it is fine.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}
