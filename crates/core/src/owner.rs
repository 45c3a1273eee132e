//! Which process owns a run: its pid, when that process started and the
//! boot it started in, so a later command tells a run still going in
//! another process from one whose process is gone (killed, crashed, or the
//! machine restarted), even after the pid is reused.

/// This process, as runs and their containers record it (`PID/START/BOOT`).
pub fn current() -> String {
    let pid = std::process::id();
    format!(
        "{pid}/{}/{}",
        start_ticks(pid).unwrap_or(0),
        boot_id().unwrap_or_default()
    )
}

/// Whether the process an owner string names is still running. Unknown
/// forms, and systems where it cannot be told, count as running, so
/// nothing is taken from a live run.
pub fn is_alive(owner: &str) -> bool {
    let mut parts = owner.splitn(3, '/');
    let (Some(pid), Some(start), Some(boot)) = (parts.next(), parts.next(), parts.next()) else {
        return true;
    };
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
        return true;
    };
    if !cfg!(target_os = "linux") {
        return true;
    }
    match boot_id() {
        Some(now) if !boot.is_empty() && now != boot => return false,
        None => return true,
        _ => {}
    }
    match start_ticks(pid) {
        None => false,
        Some(ticks) => start == 0 || ticks == start,
    }
}

/// The kernel's id of this boot.
fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
}

/// When process `pid` started, in clock ticks since boot (field 22 of
/// `/proc/PID/stat`); `None` when there is no such process.
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count from after it.
    let after = &stat[stat.rfind(')')? + 2..];
    after.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_gone_one_is_not() {
        let me = current();
        assert!(is_alive(&me), "{me}");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let owner = format!(
            "{pid}/{}/{}",
            start_ticks(pid).unwrap_or(1),
            boot_id().unwrap()
        );
        child.wait().unwrap();
        assert!(!is_alive(&owner), "{owner}");
        // Same pid, another start: the pid was reused.
        let parts: Vec<&str> = me.split('/').collect();
        assert!(!is_alive(&format!("{}/1/{}", parts[0], parts[2])));
        // Another boot.
        assert!(!is_alive(&format!(
            "{}/{}/not-this-boot",
            parts[0], parts[1]
        )));
        assert!(is_alive("something else"));
    }
}
