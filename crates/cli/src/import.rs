//! `slipway import`: a project's CircleCI config as a `slipway.toml`,
//! printed (or written), with what could not be imported and the secrets
//! its deploy triggers need.

use std::path::Path;

use slipway_core::import::{self, Imported};
use slipway_core::{ErrorCode, Problem};

use crate::EXIT_PASSED;

pub fn run(dir: &Path, write: bool, force: bool, json: bool) -> Result<u8, Problem> {
    let root = crate::run::project_folder(dir)?;
    let imported = import::import(&root)
        .map_err(|e| e.problem())?
        .ok_or_else(|| {
            Problem::new(
                ErrorCode::NotFound,
                format!(
                    "{} has no CircleCI config ({} or {})",
                    root.display(),
                    import::CIRCLE_V1,
                    import::CIRCLE_V2
                ),
            )
            .with_hint("`slipway init` writes a pipeline inferred from the Dockerfile instead.")
        })?;
    // What is printed is what runs: it must load like any slipway.toml.
    import::pipeline(&root, &imported).map_err(|e| e.problem())?;
    let path = root.join(slipway_core::config::FILE_NAME);
    if write {
        if path.exists() && !force {
            return Err(Problem::new(
                ErrorCode::BadConfig,
                format!(
                    "{} already exists, and it wins over the CircleCI config",
                    path.display()
                ),
            )
            .with_hint("Pass --force to replace it with the imported pipeline."));
        }
        slipway_core::paths::write_atomic(&path, imported.toml.as_bytes()).map_err(|e| {
            Problem::new(
                ErrorCode::Io,
                format!("cannot write {}: {e}", path.display()),
            )
        })?;
    }
    if json {
        let mut value = serde_json::to_value(&imported).unwrap_or_default();
        value["written"] = serde_json::json!(write);
        out!("{}", value);
        return Ok(EXIT_PASSED);
    }
    if write {
        out!("wrote {} from {}", path.display(), imported.file.display());
    } else {
        out!("{}", imported.toml.trim_end());
    }
    tell(&root, &imported);
    Ok(EXIT_PASSED)
}

/// What the user should know, on stderr (stdout is the TOML).
fn tell(root: &Path, imported: &Imported) {
    let shown = imported
        .file
        .strip_prefix(root)
        .unwrap_or(&imported.file)
        .display()
        .to_string();
    if !imported.unmapped.is_empty() {
        eprintln!(
            "not imported ({}): keep them as host steps or remove them:",
            imported.unmapped.len()
        );
        for note in &imported.unmapped {
            eprintln!("  {shown}:{}: {} ({})", note.line, note.text, note.why);
        }
    }
    if let Some(why) = &imported.workflow_runner {
        eprintln!("note: {why}");
    }
    if !imported.secrets_to_set.is_empty() {
        eprintln!("deploy triggers need their secret once:");
        for command in &imported.secrets_to_set {
            eprintln!("  {command}");
        }
    }
}
