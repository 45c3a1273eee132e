//! `.dockerignore` conformance: for each case, the context Slipway sends and
//! the one `docker build` sends are built into images with `COPY . /ctx/`,
//! and the files that arrived are compared.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use futures_util::StreamExt;
use proptest::prelude::*;
use slipway_core::context::ContextArchive;
use slipway_tests::image_listing;

/// Files of every case's tree.
const TREE: &[&str] = &[
    "README.md",
    "notes.md",
    "app.log",
    "src/main.py",
    "src/debug.log",
    "src/deep/cache.tmp",
    "src/deep/keep.tmp",
    "build/out.bin",
    "build/keep.txt",
    "build/sub/keep.txt",
    "node_modules/lib/index.js",
    "web/node_modules/x.js",
    "secret.env",
    "conf/secret.env",
    "file1.txt",
    "fileA.txt",
    "a+b.txt",
    "has space.txt",
    ".git/HEAD",
    "docs/guide/intro.md",
];

/// (name, .dockerignore) pairs; the Dockerfile is always `Dockerfile`.
const CASES: &[(&str, &str)] = &[
    ("comments-and-globs", "# comment\n*.log\n  notes.md  \n"),
    ("double-star", "**/*.tmp\n**/node_modules\n"),
    ("exceptions", "build\n!build/keep.txt\n*.md\n!README.md\n"),
    (
        "exception-inside-excluded-dir-by-glob",
        "build\n!**/keep.txt\n",
    ),
    ("leading-slash-and-dot", "/secret.env\n./docs\n"),
    ("single-char-and-class", "file?.txt\n[a-c]+b.txt\n"),
    ("everything-but", "*\n!src\n!README.md\n"),
    (
        "excludes-dockerfile-and-itself",
        "Dockerfile\n.dockerignore\n.git\n",
    ),
    ("trailing-double-star", "docs/**\nsrc/**/*.log\n"),
    ("last-rule-wins", "*.md\n!*.md\nREADME.md\n"),
    ("spaces-and-escape", "has space.txt\n\\#nothing\n"),
    ("star-dir", "*/secret.env\n*/node_modules\n"),
    ("trailing-slash-and-crlf", "build/\r\nsrc/deep/\r\n"),
    ("nested-exception", "src\n!src/deep\nsrc/deep/cache.tmp\n"),
    ("bare-double-star-with-exception", "**\n!docs/guide\n"),
    ("spaced-exception", "*.txt\n!   file1.txt\n"),
    ("case-sensitive", "*.MD\nREADME.MD\n"),
    ("regex-characters", "a+b.txt\n(x)|{y}\n"),
    // Found by the random cases: a rule not tried on a folder (nothing it
    // could change there) does not count as matching for what is inside.
    ("untried-rule-and-parent", "src\n!src/main.py\n*\n"),
    ("exception-then-star", "!src/main.py\n*\n!README.md\n"),
];

const DOCKERFILE: &str = "FROM scratch\nCOPY . /ctx/\n";

fn make_tree(dir: &Path, ignore: &str) {
    for file in TREE {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, file.as_bytes()).unwrap();
    }
    std::fs::create_dir_all(dir.join("empty-dir")).unwrap();
    // What else a folder holds: a hard link, a long path, a name that is not
    // UTF-8, and symlinks out of the context.
    std::fs::hard_link(dir.join("README.md"), dir.join("hardlink.md")).unwrap();
    let long = dir
        .join("long")
        .join("d".repeat(120))
        .join(format!("{}.txt", "f".repeat(150)));
    std::fs::create_dir_all(long.parent().unwrap()).unwrap();
    std::fs::write(&long, "long").unwrap();
    {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
        std::fs::write(dir.join(name), "latin-1").unwrap();
    }
    std::os::unix::fs::symlink("/etc/hostname", dir.join("outside-abs")).unwrap();
    std::os::unix::fs::symlink("../../elsewhere", dir.join("outside-rel")).unwrap();
    std::fs::write(dir.join("Dockerfile"), DOCKERFILE).unwrap();
    std::fs::write(dir.join(".dockerignore"), ignore).unwrap();
}

/// `docker build` with the classic builder, which sends the context the
/// docker CLI prepares; what it says when it fails.
fn docker_cli_build(dir: &Path, tag: &str) -> Result<(), String> {
    let out = Command::new("docker")
        .args(["build", "-q", "-t", tag, "."])
        .current_dir(dir)
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The same build with the context Slipway sends.
async fn slipway_build(docker: &bollard::Docker, dir: &Path, tag: &str) -> Result<(), String> {
    let archive = ContextArchive::new(dir, "Dockerfile").map_err(|e| e.to_string())?;
    let options = bollard::query_parameters::BuildImageOptions {
        dockerfile: "Dockerfile".into(),
        t: Some(tag.into()),
        rm: true,
        forcerm: true,
        ..Default::default()
    };
    let mut stream = docker.build_image(
        options,
        None::<HashMap<_, _>>,
        Some(bollard::body_try_stream(archive.into_stream())),
    );
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| e.to_string())?;
        if let Some(detail) = info.error_detail {
            return Err(format!("{detail:?}"));
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_matches_docker_build_for_every_case() {
    let engine = slipway_core::engine::Engine::connect().await.unwrap();
    let mut mismatches = Vec::new();
    for (name, ignore) in CASES {
        let dir = tempfile::tempdir().unwrap();
        make_tree(dir.path(), ignore);
        let theirs = format!("slipway-test/ignore-docker:{name}");
        let ours = format!("slipway-test/ignore-slipway:{name}");
        let path = dir.path().to_path_buf();
        let tag = theirs.clone();
        tokio::task::spawn_blocking(move || docker_cli_build(&path, &tag))
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("docker build {name}: {e}"));
        slipway_build(engine.docker(), dir.path(), &ours)
            .await
            .unwrap_or_else(|e| panic!("slipway build {name}: {e}"));
        let (theirs_list, ours_list) = tokio::task::spawn_blocking(move || {
            (image_listing(&theirs, "ctx/"), image_listing(&ours, "ctx/"))
        })
        .await
        .unwrap();
        assert!(
            !theirs_list.is_empty() || *name == "everything-but",
            "{name}: docker sent nothing?"
        );
        if theirs_list != ours_list {
            mismatches.push(format!(
                "{name}:\n  docker:  {theirs_list:?}\n  slipway: {ours_list:?}"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "contexts differ:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn a_run_keeps_an_excluded_dockerfile_out_of_the_image_like_docker_build() {
    // A .dockerignore that leaves out the Dockerfile and itself (`*`, then
    // the binary and the site), and a Dockerfile that copies it all.
    let project = slipway_tests::Project::hello("exclbuild");
    project.write(".dockerignore", "*\n!busybox\n!www\n");
    project.write(
        "Dockerfile",
        "FROM scratch\nCOPY . /ctx/\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nEXPOSE 80\nCMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/ctx/www\"]\n",
    );
    let run = project.run_json(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    docker_cli_build(project.path(), "slipway-test/exclbuild-docker:latest").unwrap();
    let ours = image_listing("slipway-test/exclbuild:latest", "ctx/");
    let theirs = image_listing("slipway-test/exclbuild-docker:latest", "ctx/");
    assert_eq!(ours, theirs);
    assert!(
        !ours
            .iter()
            .any(|f| f == "Dockerfile" || f == ".dockerignore"),
        "{ours:?}"
    );
}

/// A `.dockerignore` line aimed at the conformance tree: one of its paths,
/// cut to a parent or not, with a glob put in (`*`, `**`, `?`, `*.ext`),
/// negated or not, anchored or not, as a folder or not.
fn ignore_line() -> impl Strategy<Value = String> {
    (
        prop::bool::weighted(0.35),
        prop::sample::select(vec!["", "", "/", "./"]),
        prop::sample::select(TREE.to_vec()),
        1usize..4,
        0u8..7,
        prop::sample::select(vec!["", "", "/"]),
    )
        .prop_map(|(negate, lead, path, depth, glob, trail)| {
            let mut parts: Vec<String> = path.split('/').take(depth).map(String::from).collect();
            let last = parts.len() - 1;
            match glob {
                1 => parts[last] = "*".into(),
                2 => parts = vec!["**".into(), parts[last].clone()],
                3 => {
                    if let Some((_, ext)) = parts[last].rsplit_once('.') {
                        parts[last] = format!("*.{ext}");
                    }
                }
                4 => parts[last].replace_range(..1, "?"),
                5 if last > 0 => parts[0] = "**".into(),
                6 => parts.push("**".into()),
                _ => {}
            }
            let bang = if negate { "!" } else { "" };
            format!("{bang}{lead}{}{trail}", parts.join("/"))
        })
}

/// Random `.dockerignore` files over the conformance tree, each built by
/// `docker build` and by Slipway: both refuse it, or both send the same
/// files. The cases are the same every run; SLIPWAY_CONFORMANCE_CASES and
/// SLIPWAY_CONFORMANCE_RANDOM=1 make it a longer or a fresh search.
#[test]
fn random_ignore_files_send_what_docker_build_sends() {
    use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
    let cases = std::env::var("SLIPWAY_CONFORMANCE_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(12);
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    };
    let mut runner = if std::env::var_os("SLIPWAY_CONFORMANCE_RANDOM").is_some() {
        TestRunner::new(config)
    } else {
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let engine = runtime
        .block_on(slipway_core::engine::Engine::connect())
        .unwrap();
    let (theirs, ours) = (
        "slipway-test/fuzz-docker:latest",
        "slipway-test/fuzz-slipway:latest",
    );
    let strategy = prop::collection::vec(ignore_line(), 1..6);
    let result = runner.run(&strategy, |lines| {
        let ignore = format!("{}\n", lines.join("\n"));
        let dir = tempfile::tempdir().unwrap();
        make_tree(dir.path(), &ignore);
        let docker = docker_cli_build(dir.path(), theirs);
        let slipway = runtime.block_on(slipway_build(engine.docker(), dir.path(), ours));
        eprintln!(
            "CASE {ignore:?} docker={:?} slipway={:?}",
            docker.is_ok(),
            slipway.is_ok()
        );
        match (docker, slipway) {
            (Ok(()), Ok(())) => {
                let (theirs, ours) = (image_listing(theirs, "ctx/"), image_listing(ours, "ctx/"));
                prop_assert_eq!(theirs, ours, "files sent differ for {:?}", ignore);
                Ok(())
            }
            (Err(_), Err(_)) => Ok(()),
            (docker, slipway) => Err(TestCaseError::fail(format!(
                "{ignore:?}: docker build {docker:?}, slipway {slipway:?}"
            ))),
        }
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// `cmd` as user `nobody` with the docker group (the tests run as root,
/// who can read any file), in a home of its own.
fn as_nobody(cmd: Command, home: &Path) -> std::process::Output {
    let docker_gid = Command::new("getent")
        .args(["group", "docker"])
        .output()
        .unwrap();
    let gid = String::from_utf8_lossy(&docker_gid.stdout)
        .split(':')
        .nth(2)
        .expect("a docker group")
        .to_string();
    let mut wrapped = Command::new("setpriv");
    wrapped
        .args([
            "--reuid=65534",
            &format!("--regid={gid}"),
            "--clear-groups",
            "--",
        ])
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("SLIPWAY_DATA_DIR", home.join("data"))
        .env("NO_COLOR", "1");
    if let Some(dir) = cmd.get_current_dir() {
        wrapped.current_dir(dir);
    }
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            wrapped.env(key, value);
        }
    }
    wrapped.output().unwrap()
}

/// Gives the tree to everyone to read, as a user's project is to its user.
fn readable_by_all(dir: &Path) {
    let status = Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn an_unreadable_file_fails_the_build_like_docker_build_unless_left_out() {
    let project = slipway_tests::Project::hello("unreadable");
    project.write("www/secret.key", "only for root");
    let home = tempfile::tempdir().unwrap();
    let bin = home.path().join("slipway");
    std::fs::copy(slipway_tests::slipway_bin(), &bin).unwrap();
    readable_by_all(project.path());
    readable_by_all(home.path());
    let chown = Command::new("chown")
        .args(["-R", "65534"])
        .arg(home.path())
        .status()
        .unwrap();
    assert!(chown.success());
    let secret = project.path().join("www/secret.key");
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();

    let docker_build = || {
        let mut cmd = Command::new("docker");
        cmd.args(["build", "-q", "-t", "slipway-test/unreadable-docker", "."])
            .current_dir(project.path())
            .env("DOCKER_BUILDKIT", "0");
        as_nobody(cmd, home.path())
    };
    let slipway_run = || {
        let mut cmd = Command::new(&bin);
        cmd.args(["run", "--json"]).arg(project.path());
        as_nobody(cmd, home.path())
    };

    // Both refuse, naming the file.
    let theirs = docker_build();
    assert!(!theirs.status.success(), "docker build read it?");
    assert!(
        String::from_utf8_lossy(&theirs.stderr).contains("www/secret.key"),
        "{}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    let ours = slipway_tests::RunResult::from(slipway_run());
    assert_eq!(ours.code, 2, "{}", ours.stderr);
    let outcome = &ours.last()["outcome"];
    let message = outcome["problem"]["message"].as_str().unwrap_or_default();
    let hint = outcome["problem"]["hint"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("cannot read {}", secret.display()))
            && message.contains("ermission denied")
            && hint.contains("chmod a+r")
            && hint.contains(".dockerignore"),
        "{outcome}"
    );

    // Left out by .dockerignore, it is never opened: both build.
    let ignore = project.read(".dockerignore");
    project.write(".dockerignore", &format!("{ignore}www/secret.key\n"));
    readable_by_all(&project.path().join(".dockerignore"));
    let theirs = docker_build();
    assert!(
        theirs.status.success(),
        "{}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    let ours = slipway_tests::RunResult::from(slipway_run());
    assert_eq!(ours.code, 0, "{}", ours.stderr);

    // A folder that cannot be listed: both refuse, naming it.
    let private = project.path().join("www/private");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(
        &private,
        std::os::unix::fs::PermissionsExt::from_mode(0o000),
    )
    .unwrap();
    let theirs = docker_build();
    assert!(!theirs.status.success(), "docker build listed it?");
    assert!(String::from_utf8_lossy(&theirs.stderr).contains("www/private"));
    let ours = slipway_tests::RunResult::from(slipway_run());
    assert_eq!(ours.code, 2, "{}", ours.stderr);
    let problem = &ours.last()["outcome"]["problem"];
    assert!(
        problem["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("cannot read {}", private.display())))
            && problem["hint"]
                .as_str()
                .is_some_and(|h| h.contains("chmod a+rx")),
        "{problem}"
    );
}

/// A /proc or /sys file bound onto a new file of a context: its size on
/// stat is not its content's, as for a file that grows or shrinks while it
/// is sent. Unmounted when dropped.
struct BoundFile(std::path::PathBuf);

impl BoundFile {
    fn new(source: &str, at: &Path) -> Self {
        std::fs::write(at, "").unwrap();
        let status = Command::new("mount")
            .args(["--bind", source])
            .arg(at)
            .status()
            .unwrap();
        assert!(status.success(), "mount --bind {source}");
        BoundFile(at.to_path_buf())
    }
}

impl Drop for BoundFile {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("--lazy").arg(&self.0).status();
    }
}

/// The size of `path` in `image`.
fn size_in_image(image: &str, path: &str) -> u64 {
    let created = Command::new("docker")
        .args(["create", image, "/none"])
        .output()
        .unwrap();
    let id = String::from_utf8_lossy(&created.stdout).trim().to_string();
    let copied = Command::new("docker")
        .args(["cp", &format!("{id}:{path}"), "-"])
        .output()
        .unwrap();
    let _ = Command::new("docker").args(["rm", &id]).output();
    let mut archive = tar::Archive::new(&copied.stdout[..]);
    let mut entries = archive.entries().unwrap();
    entries
        .next()
        .expect("the file")
        .unwrap()
        .header()
        .size()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_with_more_than_its_size_is_sent_as_docker_build_sends_it() {
    // /proc/version stats as 0 bytes and reads as more: a file that grew.
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path(), "");
    let _version = BoundFile::new("/proc/version", &dir.path().join("version"));
    let (theirs, ours) = (
        "slipway-test/grown-docker:latest",
        "slipway-test/grown-slipway:latest",
    );
    let path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || docker_cli_build(&path, theirs))
        .await
        .unwrap()
        .unwrap();
    let engine = slipway_core::engine::Engine::connect().await.unwrap();
    slipway_build(engine.docker(), dir.path(), ours)
        .await
        .unwrap();
    let (listed, sizes) = tokio::task::spawn_blocking(move || {
        (
            (image_listing(theirs, "ctx/"), image_listing(ours, "ctx/")),
            (
                size_in_image(theirs, "/ctx/version"),
                size_in_image(ours, "/ctx/version"),
            ),
        )
    })
    .await
    .unwrap();
    assert_eq!(listed.0, listed.1);
    assert_eq!(sizes, (0, 0), "sent at its size when opened");
}

#[test]
fn a_file_with_less_than_its_size_fails_naming_it() {
    // A /sys file stats as 4096 bytes and reads as a few: a file that shrank.
    // docker build fails too, with "unexpected EOF" after logging each file
    // it could not add; Slipway names the file.
    let project = slipway_tests::Project::hello("shrunk");
    let mtu = project.path().join("www/mtu");
    let _mtu = BoundFile::new("/sys/class/net/lo/mtu", &mtu);
    let theirs = Command::new("docker")
        .args(["build", "-q", "-t", "slipway-test/shrunk-docker", "."])
        .current_dir(project.path())
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .unwrap();
    assert!(!theirs.status.success());
    let run = project.run_json(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let message = run.last()["outcome"]["problem"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains(&format!(
            "{} changed while the build context was being sent",
            mtu.display()
        )) && message.contains("shrank from 4096"),
        "{message}"
    );
    assert!(!message.contains("engine"), "{message}");
}
