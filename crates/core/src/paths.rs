//! Where Slipway keeps its files, the same for the CLI and the desktop app:
//! one config folder (accounts, the app's settings and recent projects) and
//! one data folder (run history), and how they are written.

use std::path::{Path, PathBuf};

/// Overrides the config folder.
pub const CONFIG_DIR_ENV: &str = "SLIPWAY_CONFIG_DIR";
/// Overrides the data folder.
pub const DATA_DIR_ENV: &str = "SLIPWAY_DATA_DIR";

fn dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("dev", "slipway", "slipway")
}

fn from_env(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

/// The settings folder: `$SLIPWAY_CONFIG_DIR`, else the platform's
/// (`~/.config/slipway` on Linux). `None` only without a home folder.
pub fn config_dir() -> Option<PathBuf> {
    from_env(CONFIG_DIR_ENV).or_else(|| dirs().map(|d| d.config_dir().to_path_buf()))
}

/// The data folder: `$SLIPWAY_DATA_DIR`, else the platform's
/// (`~/.local/share/slipway` on Linux). `None` only without a home folder.
pub fn data_dir() -> Option<PathBuf> {
    from_env(DATA_DIR_ENV).or_else(|| dirs().map(|d| d.data_dir().to_path_buf()))
}

/// Writes `bytes` to `path` through a temporary file beside it and a
/// rename, so a crash or a full disk never leaves half a file. Creates the
/// folder when needed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_replace_the_whole_file_and_leave_nothing_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/settings.json");
        write_atomic(&path, b"first, longer").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["settings.json"]);
        // A folder where the file should be: an error, and no leftover.
        std::fs::create_dir_all(dir.path().join("taken")).unwrap();
        assert!(write_atomic(&dir.path().join("taken"), b"x").is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}

/// `YYYYMMDD-HHMMSS` in UTC for seconds since the Unix epoch, for names of
/// files kept aside.
pub fn utc_stamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    // Days to a civil date (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod stamp_tests {
    #[test]
    fn stamps_are_utc_dates() {
        assert_eq!(super::utc_stamp(0), "19700101-000000");
        assert_eq!(super::utc_stamp(1_796_157_000), "20261201-203000");
        assert_eq!(super::utc_stamp(951_782_400), "20000229-000000");
    }
}
