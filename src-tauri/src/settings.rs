//! The desktop app's own preferences and recent projects, kept as small JSON
//! files in the user's config folder. Writes go to a temporary file first,
//! so a crash never leaves half a file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use slipway_core::{ErrorCode, Problem};

/// How many projects the recent list keeps.
const RECENT_LIMIT: usize = 20;

/// User preferences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(default)]
pub struct Settings {
    /// Closing the window keeps Slipway in the tray.
    pub keep_in_tray: bool,
    /// Show a notification for every run result.
    pub notifications: bool,
    /// `system`, `light` or `dark`.
    pub theme: Theme,
    /// Push and open PR runs the pipeline first.
    pub preflight: bool,
    /// The pipeline's result goes to GitHub as the pushed commit's status
    /// `slipway/preflight`, for reviewers (opt-in).
    pub publish_preflight: bool,
    /// Start Slipway in the tray when the user logs in.
    pub start_at_login: bool,
}

/// The colour theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type, Default)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    /// Follow the system.
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            keep_in_tray: true,
            notifications: true,
            theme: Theme::System,
            preflight: true,
            publish_preflight: false,
            start_at_login: false,
        }
    }
}

/// Project folders the user added, most recent first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentProjects {
    /// Canonical paths.
    pub paths: Vec<PathBuf>,
}

impl RecentProjects {
    /// Puts `path` first.
    pub fn touch(&mut self, path: &Path) {
        self.paths.retain(|p| p != path);
        self.paths.insert(0, path.to_path_buf());
        self.paths.truncate(RECENT_LIMIT);
    }

    /// Forgets `path`.
    pub fn remove(&mut self, path: &Path) {
        self.paths.retain(|p| p != path);
    }
}

/// Reads a JSON file, or the default when it does not exist. A damaged
/// file is kept aside (`.bad`) rather than lost, and the default is used.
pub fn load<T: Default + for<'de> Deserialize<'de>>(path: &Path) -> T {
    match std::fs::read(path) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(value) => value,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "damaged settings file; keeping it aside");
                let _ = std::fs::rename(path, path.with_extension("json.bad"));
                T::default()
            }
        },
        Err(_) => T::default(),
    }
}

/// Writes a JSON file atomically.
pub fn save<T: Serialize>(path: &Path, value: &T) -> Result<(), Problem> {
    let text =
        serde_json::to_vec_pretty(value).map_err(|e| Problem::new(ErrorCode::Io, e.to_string()))?;
    slipway_core::paths::write_atomic(path, &text).map_err(|e| {
        Problem::new(
            ErrorCode::Io,
            format!("cannot save {}: {e}", path.display()),
        )
        .with_hint("Check that the folder is writable, or set SLIPWAY_CONFIG_DIR to another one.")
    })
}

/// The files the app keeps in the config folder.
const FILES: [&str; 2] = ["settings.json", slipway_core::project::RECENT_FILE];

/// Copies the app's files from `old` (the folder an earlier app used) into
/// `new` when `new` has none of them yet, so nothing is lost on the move.
pub fn adopt_old_files(old: &Path, new: &Path) {
    if old == new || FILES.iter().any(|f| new.join(f).exists()) {
        return;
    }
    for file in FILES {
        let from = old.join(file);
        let Ok(bytes) = std::fs::read(&from) else {
            continue;
        };
        match slipway_core::paths::write_atomic(&new.join(file), &bytes) {
            Ok(()) => tracing::info!(from = %from.display(), "settings brought over"),
            Err(e) => {
                tracing::warn!(from = %from.display(), error = %e, "could not bring settings over")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_projects_move_to_the_front_and_stay_bounded() {
        let mut recent = RecentProjects::default();
        for i in 0..25 {
            recent.touch(Path::new(&format!("/p{i}")));
        }
        recent.touch(Path::new("/p10"));
        assert_eq!(recent.paths[0], Path::new("/p10"));
        assert_eq!(recent.paths.len(), RECENT_LIMIT);
    }

    #[test]
    fn an_older_apps_files_are_brought_over_once() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (dir.path().join("old"), dir.path().join("new"));
        let mut recent = RecentProjects::default();
        recent.touch(Path::new("/work/app"));
        save(&old.join("projects.json"), &recent).unwrap();
        adopt_old_files(&old, &new);
        let moved: RecentProjects = load(&new.join("projects.json"));
        assert_eq!(moved, recent);
        // Once the new folder has its own, the old one is left alone.
        save(&old.join("projects.json"), &RecentProjects::default()).unwrap();
        adopt_old_files(&old, &new);
        let kept: RecentProjects = load(&new.join("projects.json"));
        assert_eq!(kept, recent);
    }

    #[test]
    fn damaged_files_are_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, "{not json").unwrap();
        let settings: Settings = load(&path);
        assert_eq!(settings, Settings::default());
        assert!(dir.path().join("settings.json.bad").exists());
        save(
            &path,
            &Settings {
                keep_in_tray: false,
                ..Default::default()
            },
        )
        .unwrap();
        let back: Settings = load(&path);
        assert!(!back.keep_in_tray);
    }
}
