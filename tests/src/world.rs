//! One user's world for a test: a temporary home with its own config, data
//! and docker config folders, a private session bus with a keychain, and the
//! fake web services, with `slipway` run inside it. Every output is kept,
//! so a test can check at the end that no secret reached any of them.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::fake::FakeServices;
use crate::services::{Keyring, SessionBus};
use crate::slipway_bin;

/// A user's environment for `slipway` commands.
#[derive(Debug)]
pub struct World {
    /// The session bus and its keychain.
    pub bus: SessionBus,
    /// The fake GitHub, CircleCI and Docker Hub.
    pub fake: FakeServices,
    home: tempfile::TempDir,
    outputs: RefCell<Vec<String>>,
}

/// What a command printed and how it exited.
#[derive(Debug)]
pub struct Run {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl World {
    /// A fresh world whose keychain starts as `keyring` says.
    pub fn new(keyring: Keyring) -> Self {
        let home = tempfile::tempdir().expect("temp dir");
        for dir in ["config", "data", "docker/bin"] {
            std::fs::create_dir_all(home.path().join(dir)).expect("mkdir");
        }
        World {
            bus: SessionBus::start(keyring),
            fake: FakeServices::start(),
            home,
            outputs: RefCell::default(),
        }
    }

    /// The temporary home folder.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Slipway's config folder (`SLIPWAY_CONFIG_DIR`).
    pub fn config_dir(&self) -> PathBuf {
        self.home().join("config")
    }

    /// Slipway's data folder (`SLIPWAY_DATA_DIR`).
    pub fn data_dir(&self) -> PathBuf {
        self.home().join("data")
    }

    /// The docker CLI's config folder (`DOCKER_CONFIG`); its `bin` is on PATH.
    pub fn docker_dir(&self) -> PathBuf {
        self.home().join("docker")
    }

    /// `cmd` set up to run in this world.
    pub fn env(&self, mut cmd: Command) -> Command {
        let path = format!(
            "{}:{}",
            self.docker_dir().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.env("HOME", self.home())
            .env("SLIPWAY_CONFIG_DIR", self.config_dir())
            .env("SLIPWAY_DATA_DIR", self.data_dir())
            .env("DOCKER_CONFIG", self.docker_dir())
            .env("SLIPWAY_GITHUB_API_URL", self.fake.github_api())
            .env("SLIPWAY_CIRCLECI_API_URL", self.fake.circleci_api())
            .env("SLIPWAY_LOG", "trace")
            .env("NO_COLOR", "1")
            .env("PATH", path);
        self.bus.command_env(cmd)
    }

    /// `slipway ARGS` with `stdin`.
    pub fn slipway(&self, args: &[&str], stdin: &str) -> Run {
        let mut cmd = Command::new(slipway_bin());
        cmd.args(args);
        self.finish(self.env(cmd), stdin)
    }

    /// Runs `cmd` with `stdin` and keeps what it printed.
    pub fn finish(&self, mut cmd: Command, stdin: &str) -> Run {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start slipway");
        {
            use std::io::Write;
            let mut input = child.stdin.take().expect("stdin");
            input.write_all(stdin.as_bytes()).expect("write stdin");
        }
        let out: Output = child.wait_with_output().expect("slipway output");
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        };
        self.outputs
            .borrow_mut()
            .push(format!("{}\n{}", run.stdout, run.stderr));
        run
    }

    /// Everything the commands printed so far.
    pub fn outputs(&self) -> Vec<String> {
        self.outputs.borrow().clone()
    }

    /// `slipway whoami --json`.
    pub fn whoami(&self) -> Value {
        let run = self.slipway(&["whoami", "--json"], "");
        assert_eq!(run.code, 0, "whoami: {}", run.stderr);
        serde_json::from_str(&run.stdout).expect("whoami JSON")
    }

    /// accounts.json as written, or "" when there is none.
    pub fn accounts_file(&self) -> String {
        std::fs::read_to_string(self.config_dir().join("accounts.json")).unwrap_or_default()
    }

    /// The user names of Slipway's keychain entries.
    pub fn entry_names(&self) -> Vec<String> {
        self.bus
            .slipway_entries()
            .into_iter()
            .map(|(user, _, _)| user)
            .collect()
    }

    /// Every file of this world's home, except the keychain's own, and the
    /// text of each, with the history's compressed logs opened up.
    pub fn file_texts(&self) -> Vec<(PathBuf, String)> {
        let mut paths = Vec::new();
        files(self.home(), &self.bus.keyring_dir(), &mut paths);
        paths
            .into_iter()
            .map(|path| {
                let text = readable_text(&path);
                (path, text)
            })
            .collect()
    }
}

/// Every file under `dir`, except under `skip`.
fn files(dir: &Path, skip: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.starts_with(skip) {
            continue;
        }
        if path.is_dir() {
            files(&path, skip, out);
        } else {
            out.push(path);
        }
    }
}

/// A file's text; for a history database, also every log it keeps,
/// decompressed (they are gzip blobs a plain scan cannot see into).
pub fn readable_text(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if path.extension().is_some_and(|e| e == "db") {
        for log in history_logs(path) {
            text.push('\n');
            text.push_str(&log);
        }
    }
    text
}

/// The decompressed logs in a history database.
pub fn history_logs(path: &Path) -> Vec<String> {
    use std::io::Read;
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the history");
    let mut stmt = conn.prepare("SELECT gzip FROM logs").expect("logs table");
    let blobs: Vec<Vec<u8>> = stmt
        .query_map([], |r| r.get(0))
        .expect("read logs")
        .collect::<Result<_, _>>()
        .expect("log rows");
    blobs
        .iter()
        .map(|gzip| {
            let mut text = String::new();
            flate2::read::GzDecoder::new(gzip.as_slice())
                .read_to_string(&mut text)
                .expect("a log is gzip");
            text
        })
        .collect()
}

/// Asserts `text` contains `needle`, showing `text` when it does not.
pub fn has(text: &str, needle: &str) {
    assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
}
