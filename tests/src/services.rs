//! Real local services for the tests: a private D-Bus session bus (no
//! service activation, so nothing starts behind a test's back) with GNOME
//! Keyring's Secret Service on it, Debian's docker-registry with htpasswd
//! auth, an sshd on loopback, and a dockerd of a test's own. Each stops when
//! dropped.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::wait_until;

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A private session bus, optionally with a Secret Service on it.
#[derive(Debug)]
pub struct SessionBus {
    dir: tempfile::TempDir,
    address: String,
    bus: Child,
    keyring: Option<Child>,
}

/// How the keyring on a [`SessionBus`] starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyring {
    /// No Secret Service at all.
    None,
    /// GNOME Keyring, unlocked with a known password.
    Unlocked,
    /// GNOME Keyring, never unlocked: no usable collection.
    Locked,
}

impl SessionBus {
    /// Starts a bus in a fresh folder, and the keyring asked for.
    pub fn start(keyring: Keyring) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        for sub in ["home", "run", "data"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        set_mode_700(&dir.path().join("run"));
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                dir.path().join("bus").display()
            ),
        )
        .expect("write bus config");
        let mut bus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon is missing: install dbus (scripts/setup does)");
        let mut line = String::new();
        BufReader::new(bus.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("bus address");
        let mut session = SessionBus {
            address: line.trim().to_string(),
            dir,
            bus,
            keyring: None,
        };
        if keyring != Keyring::None {
            session.start_keyring(keyring == Keyring::Unlocked);
        }
        session
    }

    fn start_keyring(&mut self, unlock: bool) {
        let mut cmd = Command::new("gnome-keyring-daemon");
        cmd.args(["--foreground", "--components=secrets"]);
        if unlock {
            cmd.arg("--unlock");
        }
        let mut child = self
            .command_env(cmd)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon is missing: install gnome-keyring (scripts/setup does)");
        if let Some(mut stdin) = child.stdin.take()
            && unlock
        {
            stdin.write_all(b"test").expect("unlock password");
        }
        self.keyring = Some(child);
        wait_until(
            "the Secret Service on the test bus",
            Duration::from_secs(20),
            || self.has_owner("org.freedesktop.secrets"),
        );
    }

    fn has_owner(&self, name: &str) -> bool {
        let out = self
            .command("dbus-send")
            .args([
                "--session",
                "--dest=org.freedesktop.DBus",
                "--print-reply",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                &format!("string:{name}"),
            ])
            .output()
            .expect("dbus-send");
        String::from_utf8_lossy(&out.stdout).contains("boolean true")
    }

    /// The bus address, for `DBUS_SESSION_BUS_ADDRESS`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The home folder of the session's commands (`HOME`).
    pub fn home(&self) -> std::path::PathBuf {
        self.dir.path().join("home")
    }

    /// Puts this session's environment on a command.
    pub fn command_env(&self, mut cmd: Command) -> Command {
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("HOME", self.home())
            .env("XDG_RUNTIME_DIR", self.dir.path().join("run"))
            .env("XDG_DATA_HOME", self.dir.path().join("data"));
        cmd
    }

    /// A command run in this session.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        self.command_env(Command::new(program))
    }

    /// `secret-tool search --all service slipway`: the entries as
    /// `(username attribute, label, secret)`.
    pub fn slipway_entries(&self) -> Vec<(String, String, String)> {
        let out = self
            .command("secret-tool")
            .args(["search", "--all", "service", "slipway"])
            .output()
            .expect("secret-tool is missing: install libsecret-tools (scripts/setup does)");
        // secret-tool prints each item's label and secret on stdout, its
        // `[path]` header and attributes on stderr, in the same order.
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut shown: Vec<(String, String)> = Vec::new();
        for line in stdout.lines() {
            if let Some(v) = line.strip_prefix("label = ") {
                shown.push((v.to_string(), String::new()));
            } else if let (Some(v), Some(last)) = (line.strip_prefix("secret = "), shown.last_mut())
            {
                last.1 = v.to_string();
            }
        }
        let users = stderr
            .lines()
            .filter_map(|l| l.strip_prefix("attribute.username = "))
            .map(str::to_string);
        let mut entries: Vec<(String, String, String)> = users
            .zip(shown)
            .map(|(user, (label, secret))| (user, label, secret))
            .collect();
        entries.sort();
        entries
    }

    /// Removes an entry behind Slipway's back, as a keychain manager would.
    pub fn clear_entry(&self, username: &str) {
        let status = self
            .command("secret-tool")
            .args(["clear", "service", "slipway", "username", username])
            .status()
            .expect("secret-tool");
        assert!(status.success(), "secret-tool clear {username}");
    }

    /// The keyring's own files (encrypted), to leave out of leak scans.
    pub fn keyring_dir(&self) -> PathBuf {
        self.dir.path().join("data").join("keyrings")
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        if let Some(keyring) = self.keyring.as_mut() {
            kill(keyring);
        }
        kill(&mut self.bus);
    }
}

fn set_mode_700(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).expect("chmod");
}

/// Debian's docker-registry on a loopback port, with htpasswd users.
#[derive(Debug)]
pub struct Registry {
    _dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

impl Registry {
    /// Starts a registry that accepts these `(user, password)` pairs.
    pub fn start(users: &[(&str, &str)]) -> Self {
        Self::start_with(users, false)
    }

    /// A registry in read-only mode: logins work, pushes are refused.
    pub fn start_read_only(users: &[(&str, &str)]) -> Self {
        Self::start_with(users, true)
    }

    fn start_with(users: &[(&str, &str)], read_only: bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut htpasswd = String::new();
        for (user, password) in users {
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .expect("htpasswd is missing: install apache2-utils (scripts/setup does)");
            assert!(out.status.success(), "htpasswd failed");
            htpasswd.push_str(String::from_utf8_lossy(&out.stdout).trim());
            htpasswd.push('\n');
        }
        std::fs::write(dir.path().join("htpasswd"), htpasswd).expect("write htpasswd");
        let port = free_port();
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {root}\n{maintenance}\
             http:\n  addr: 127.0.0.1:{port}\n  secret: slipway-test\n\
             auth:\n  htpasswd:\n    realm: Registry Realm\n    path: {htpasswd}\n",
            root = dir.path().join("data").display(),
            maintenance = if read_only {
                "  maintenance:\n    readonly:\n      enabled: true\n"
            } else {
                ""
            },
            htpasswd = dir.path().join("htpasswd").display()
        );
        std::fs::write(dir.path().join("config.yml"), config).expect("write config");
        let binary = ["/usr/bin/docker-registry", "/usr/sbin/docker-registry"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("docker-registry is missing: install docker-registry (scripts/setup does)");
        let child = Command::new(binary)
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start docker-registry");
        wait_until("the registry to listen", Duration::from_secs(20), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Registry {
            _dir: dir,
            port,
            child,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The tags of `repository` as the registry lists them, sorted.
    pub fn tags(&self, repository: &str, user: &str, password: &str) -> Vec<String> {
        let out = Command::new("curl")
            .args(["-sf", "-u", &format!("{user}:{password}")])
            .arg(format!("http://{}/v2/{repository}/tags/list", self.host()))
            .output()
            .expect("curl is missing: install curl (scripts/setup does)");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let mut tags: Vec<String> = json["tags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        tags.sort();
        tags
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A real sshd on a loopback port that lets root in with a throwaway key,
/// and an ssh-agent holding that key: `ssh://root@127.0.0.1:PORT` works
/// for the user's own ssh client, as a remote Docker engine's host would.
#[derive(Debug)]
pub struct Sshd {
    dir: tempfile::TempDir,
    port: u16,
    sshd: Child,
    agent_pid: u32,
}

impl Sshd {
    /// Starts sshd and the agent. The host key is kept across runs (under
    /// /var/lib/slipway-test/ssh), so a port used again has the same key in
    /// the client's known hosts.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let keep = Path::new("/var/lib/slipway-test/ssh");
        std::fs::create_dir_all(keep).expect("mkdir /var/lib/slipway-test/ssh");
        let host_key = keep.join("host_ed25519");
        let keygen = |path: &Path| {
            let ok = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(path)
                .status()
                .expect("ssh-keygen is missing: install openssh-client (scripts/setup does)")
                .success();
            assert!(ok, "ssh-keygen failed");
        };
        if !host_key.exists() {
            keygen(&host_key);
        }
        // The user's ssh checks host keys: the test host's is known as a
        // user's remote machine would be (for any loopback port).
        let public = std::fs::read_to_string(keep.join("host_ed25519.pub")).expect("host key");
        let entry = format!(
            "[127.0.0.1]:* {}",
            public
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        );
        let known = Path::new("/etc/ssh/ssh_known_hosts");
        let listed = std::fs::read_to_string(known).unwrap_or_default();
        if !listed.lines().any(|l| l == entry) {
            std::fs::create_dir_all("/etc/ssh").expect("mkdir /etc/ssh");
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(known)
                .expect("open /etc/ssh/ssh_known_hosts");
            writeln!(
                file,
                "# Slipway's test sshd (tests/src/services.rs)\n{entry}"
            )
            .expect("write ssh_known_hosts");
        }
        let user_key = dir.path().join("id_ed25519");
        keygen(&user_key);
        std::fs::copy(
            dir.path().join("id_ed25519.pub"),
            dir.path().join("authorized_keys"),
        )
        .expect("authorized_keys");
        std::fs::create_dir_all("/run/sshd").expect("mkdir /run/sshd");
        let port = free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nAuthorizedKeysFile {keys}\n\
             PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             UsePAM no\nStrictModes no\nPidFile {pid}\nLogLevel ERROR\n",
            host = host_key.display(),
            keys = dir.path().join("authorized_keys").display(),
            pid = dir.path().join("sshd.pid").display(),
        );
        std::fs::write(dir.path().join("sshd_config"), config).expect("sshd_config");
        let sshd = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(dir.path().join("sshd_config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sshd is missing: install openssh-server (scripts/setup does)");
        let agent = Command::new("ssh-agent")
            .args(["-a"])
            .arg(dir.path().join("agent.sock"))
            .arg("-s")
            .output()
            .expect("ssh-agent");
        let text = String::from_utf8_lossy(&agent.stdout);
        let agent_pid = text
            .split("SSH_AGENT_PID=")
            .nth(1)
            .and_then(|t| t.split(';').next())
            .and_then(|p| p.parse().ok())
            .expect("the agent's pid");
        let added = Command::new("ssh-add")
            .arg(&user_key)
            .env("SSH_AUTH_SOCK", dir.path().join("agent.sock"))
            .stderr(Stdio::null())
            .status()
            .expect("ssh-add")
            .success();
        assert!(added, "ssh-add failed");
        wait_until("sshd to listen", Duration::from_secs(20), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Sshd {
            dir,
            port,
            sshd,
            agent_pid,
        }
    }

    /// `ssh://root@127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("ssh://root@127.0.0.1:{}", self.port)
    }

    /// The agent's socket, for `SSH_AUTH_SOCK`.
    pub fn agent(&self) -> std::path::PathBuf {
        self.dir.path().join("agent.sock")
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        kill(&mut self.sshd);
        let _ = Command::new("kill")
            .arg(self.agent_pid.to_string())
            .status();
    }
}

/// A dockerd of a test's own: its socket, data root, exec root and bridge
/// are private, so it can be killed, frozen and started again under a
/// running pipeline without touching the suite's engine. Dropped, it
/// removes its containers, stops and leaves nothing behind.
#[derive(Debug)]
pub struct PrivateEngine {
    dir: PathBuf,
    bridge: String,
    dockerd: Option<Child>,
    /// Killed and not started again yet.
    killed: bool,
}

impl PrivateEngine {
    /// Starts the engine and waits until it answers.
    pub fn start() -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        // Short names: a bridge name has at most 15 bytes, a socket path 107.
        let dir = PathBuf::from(format!("/tmp/slwe-{pid}-{n}"));
        let bridge = format!("slw{}", (pid * 8 + n) % 100_000);
        let subnet = 10 + (pid * 8 + n) % 240;
        std::fs::create_dir_all(&dir).expect("engine folder");
        let ip = |args: &[&str]| {
            let status = Command::new("ip").args(args).status().expect("ip");
            assert!(status.success(), "ip {args:?}");
        };
        let _ = Command::new("ip")
            .args(["link", "del", &bridge])
            .stderr(Stdio::null())
            .status();
        ip(&["link", "add", &bridge, "type", "bridge"]);
        ip(&[
            "addr",
            "add",
            &format!("172.31.{subnet}.1/24"),
            "dev",
            &bridge,
        ]);
        ip(&["link", "set", &bridge, "up"]);
        let mut engine = PrivateEngine {
            dir,
            bridge,
            dockerd: None,
            killed: false,
        };
        engine.launch();
        engine
    }

    fn launch(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("dockerd.log"))
            .expect("engine log");
        let at = |name: &str| self.dir.join(name).display().to_string();
        let child = Command::new("dockerd")
            .args(["--host", &self.host()])
            .args(["--data-root", &at("data"), "--exec-root", &at("exec")])
            .args(["--pidfile", &at("dockerd.pid"), "--bridge", &self.bridge])
            .args(["--iptables=false", "--ip-masq=false"])
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start dockerd");
        self.dockerd = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !self.docker(&["version"]).status.success() {
            if std::time::Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                panic!("the private engine did not answer within 60 s: {tail:#?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `unix://…/docker.sock`, for DOCKER_HOST.
    pub fn host(&self) -> String {
        format!("unix://{}", self.dir.join("docker.sock").display())
    }

    /// Runs the docker CLI against this engine.
    pub fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .env("DOCKER_HOST", self.host())
            .args(args)
            .output()
            .expect("docker CLI")
    }

    /// Ids of this engine's containers (running or not) labelled so.
    pub fn containers_labelled(&self, label: &str, value: &str) -> Vec<String> {
        crate::containers_labelled_at(Some(&self.host()), label, value)
    }

    fn signal(&self, signal: &str) {
        let pid = self.dockerd.as_ref().expect("engine started").id();
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// `kill -9` of dockerd: every connection drops and none is accepted.
    pub fn kill(&mut self) {
        self.signal("-KILL");
        self.killed = true;
    }

    /// `kill -STOP` of dockerd: calls hang, as on a frozen engine.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// The engine back: thawed, or started again on the same data root.
    pub fn resume(&mut self) {
        if !self.killed {
            self.signal("-CONT");
            return;
        }
        if let Some(mut child) = self.dockerd.take() {
            let _ = child.wait();
        }
        // Its containerd dies with it; until it is reaped, a new dockerd
        // would take it for alive and wait on it.
        let containerd = self.dir.join("exec/containerd/containerd.pid");
        if let Ok(pid) = std::fs::read_to_string(&containerd) {
            let proc = PathBuf::from(format!("/proc/{}", pid.trim()));
            wait_until(
                "the killed engine's containerd to go",
                Duration::from_secs(30),
                || !proc.exists(),
            );
        }
        let _ = std::fs::remove_file(containerd);
        let _ = std::fs::remove_file(self.dir.join("dockerd.pid"));
        self.killed = false;
        self.launch();
    }
}

impl Drop for PrivateEngine {
    fn drop(&mut self) {
        self.resume();
        let listed = self.docker(&["ps", "-aq"]);
        let ids: Vec<String> = String::from_utf8_lossy(&listed.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids.iter().map(String::as_str));
            let _ = self.docker(&args);
        }
        if let Some(mut child) = self.dockerd.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
        // A containerd or shim that outlived a killed dockerd.
        let dir = self.dir.to_string_lossy().into_owned();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&dir) {
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg(entry.file_name())
                    .status();
            }
        }
        // Mounts the engine left under its folder (overlays, shm), deepest first.
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let mut under: Vec<&str> = mounts
            .lines()
            .filter_map(|l| l.split(' ').nth(1))
            .filter(|m| m.starts_with(&dir))
            .collect();
        under.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for mount in under {
            let _ = Command::new("umount").args(["-l", mount]).status();
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A small tmpfs of a test's own, to fill up or make read-only under a
/// folder Slipway writes; unmounted when dropped.
#[derive(Debug)]
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts `size` bytes of tmpfs on a new folder.
    pub fn mount(size: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("slipway-tmpfs-")
            .tempdir()
            .expect("tempdir");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount");
        assert!(status.success(), "mount tmpfs");
        Tmpfs { dir }
    }

    /// The mounted folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes until the file system has no room left.
    pub fn fill(&self) {
        let mut file = std::fs::File::create(self.path().join("filler")).expect("filler");
        let block = vec![0u8; 4096];
        while file.write_all(&block).is_ok() {}
        let err = file.write_all(&block).expect_err("full");
        assert_eq!(err.kind(), std::io::ErrorKind::StorageFull, "{err}");
    }

    /// Mounts it again read-only.
    pub fn make_read_only(&self) {
        let status = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(self.path())
            .status()
            .expect("mount");
        assert!(status.success(), "remount read-only");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.path()).status();
    }
}
