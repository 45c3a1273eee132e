//! The set-up around the commands: `slipway doctor`, `slipway completions`,
//! the man pages the packages carry, and `--version`.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use clap::CommandFactory;
use slipway_core::doctor::{self, Verdict};
use slipway_core::{ErrorCode, Problem};

use crate::EXIT_PASSED;

/// How long `--version` waits for the engine.
const VERSION_WAIT: Duration = Duration::from_secs(3);

pub async fn doctor(dir: &Path, json: bool) -> Result<u8, Problem> {
    let checks = doctor::run(dir).await;
    if json {
        out!(
            "{}",
            serde_json::to_string_pretty(&checks).unwrap_or_default()
        );
    } else {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        for check in &checks {
            let (mark, code) = match check.verdict {
                Verdict::Pass => ("✓", "32"),
                Verdict::Warn => ("!", "33"),
                Verdict::Fail => ("✗", "31"),
                Verdict::Skip => ("-", "2"),
            };
            let mark = match color {
                true => format!("\x1b[{code}m{mark}\x1b[0m"),
                false => mark.to_string(),
            };
            out!("{mark} {}: {}", check.name, check.detail);
            if let Some(hint) = crate::render::hint(check.hint.as_deref(), check.remedy.as_ref())
                .filter(|_| matches!(check.verdict, Verdict::Fail | Verdict::Warn | Verdict::Skip))
            {
                out!("    {hint}");
            }
        }
    }
    Ok(doctor::exit_code(&checks))
}

pub fn completions(shell: clap_complete::Shell) -> Result<u8, Problem> {
    let mut command = crate::Cli::command();
    clap_complete::generate(shell, &mut command, "slipway", &mut std::io::stdout());
    Ok(EXIT_PASSED)
}

/// Writes `slipway.1` and a page per subcommand (`slipway-pr-open.1`) into `dir`.
pub fn man_pages(dir: &Path) -> Result<u8, Problem> {
    let fail = |e: std::io::Error| {
        Problem::new(
            ErrorCode::Io,
            format!("cannot write the man pages in {}: {e}", dir.display()),
        )
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let mut written = 0;
    let mut pending = vec![("slipway".to_string(), crate::Cli::command().name("slipway"))];
    while let Some((name, command)) = pending.pop() {
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            let sub_name = format!("{name}-{}", sub.get_name());
            pending.push((sub_name.clone(), sub.clone().name(sub_name)));
        }
        let mut page = Vec::new();
        clap_mangen::Man::new(command.clone())
            .render(&mut page)
            .map_err(fail)?;
        std::fs::write(dir.join(format!("{name}.1")), page).map_err(fail)?;
        written += 1;
    }
    out!("wrote {written} man pages in {}", dir.display());
    Ok(EXIT_PASSED)
}

/// `slipway --version`: the version, the commit, and the engine's API.
pub async fn version() -> u8 {
    out!(
        "slipway {} (commit {})",
        slipway_core::VERSION,
        slipway_core::COMMIT
    );
    match slipway_core::engine::version(VERSION_WAIT).await {
        Ok(v) => out!(
            "Docker API {} (engine {} at {})",
            v.api,
            v.engine,
            v.endpoint
        ),
        Err(e) => out!("Docker API: unknown ({e})"),
    }
    EXIT_PASSED
}
