//! Which variables each CircleCI context has here. The values are in the
//! keychain; their names are kept in the config folder, since a keychain
//! cannot be asked what it holds without unlocking every entry.

use std::collections::BTreeMap;
use std::path::PathBuf;

fn index_file() -> Option<PathBuf> {
    Some(crate::paths::config_dir()?.join("contexts.json"))
}

fn read() -> BTreeMap<String, Vec<String>> {
    index_file()
        .and_then(|f| std::fs::read(f).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn write(index: &BTreeMap<String, Vec<String>>) -> std::io::Result<()> {
    let Some(file) = index_file() else {
        return Ok(());
    };
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_vec_pretty(index).map_err(std::io::Error::other)?;
    crate::paths::write_atomic(&file, &text)
}

/// The names of `context`'s stored variables.
pub(crate) fn vars_of(context: &str) -> Vec<String> {
    read().remove(context).unwrap_or_default()
}

/// Notes that `context` has a variable `var` (its value is in the keychain).
pub fn remember_context_var(context: &str, var: &str) -> std::io::Result<()> {
    let mut index = read();
    let vars = index.entry(context.to_string()).or_default();
    if !vars.iter().any(|v| v == var) {
        vars.push(var.to_string());
        vars.sort();
    }
    write(&index)
}

/// Notes that `context` no longer has `var`.
pub fn forget_context_var(context: &str, var: &str) -> std::io::Result<()> {
    let mut index = read();
    if let Some(vars) = index.get_mut(context) {
        vars.retain(|v| v != var);
        if vars.is_empty() {
            index.remove(context);
        }
    }
    write(&index)
}
