//! What one CI shell command means to a Slipway pipeline: `docker build`,
//! `docker run`, a readiness probe (`curl --retry`, `wget`, an `until`
//! loop), a line Slipway does itself (`docker info`, `sleep`), or a host
//! step. Commands whose meaning is unclear say why.

use std::time::Duration;

/// `docker build`'s parts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BuildCmd {
    /// `-t NAME[:TAG]`.
    pub image: Option<String>,
    /// `-f FILE`, relative to the project.
    pub dockerfile: Option<String>,
    /// `--build-arg K=V`.
    pub args: Vec<(String, String)>,
    /// `--target T`.
    pub target: Option<String>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// The context folder.
    pub context: String,
}

/// A published port: host port (when given) and container port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publish {
    pub host: Option<u16>,
    pub container: u16,
}

/// `docker run`'s parts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunCmd {
    pub ports: Vec<Publish>,
    pub env: Vec<(String, String)>,
    pub image: String,
    /// The command after the image, if any.
    pub command: Vec<String>,
    /// What was dropped from the line (a trailing `sleep`), to say so.
    pub dropped: Option<String>,
}

/// A readiness probe from `curl`, `wget` or an `until` loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyCmd {
    pub url: String,
    /// How long the command would keep trying.
    pub timeout: Duration,
    /// Whether any HTTP answer counts (curl without `-f`), or only 2xx/3xx.
    pub any_status: bool,
}

/// What a command becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    Build(BuildCmd),
    Run(RunCmd),
    /// An HTTP request that may be the readiness probe.
    Probe(ReadyCmd),
    /// Slipway does this itself: no step (why).
    Done(&'static str),
    /// A host step, as written.
    Host,
    /// Cannot be mapped (why).
    Unmapped(String),
}

/// Classifies one shell command line.
pub fn classify(line: &str) -> Mapped {
    let line = line.trim();
    if let Some(probe) = until_loop(line) {
        return probe;
    }
    if let Some(seconds) = line.strip_prefix("sleep ")
        && seconds.trim().parse::<f64>().is_ok()
    {
        return Mapped::Done("a fixed wait: readiness replaces it");
    }
    let (main, dropped) = strip_trailing_sleep(line);
    let Some(words) = shlex::split(main) else {
        return Mapped::Unmapped("its quotes are not balanced".into());
    };
    let has_operators = words
        .iter()
        .any(|w| ["|", "||", "&&", ";", "&", ">", ">>", "<"].contains(&w.as_str()))
        || main.contains("$(")
        || main.contains('`');
    let first = words.first().map(String::as_str).unwrap_or_default();
    match (first, words.get(1).map(String::as_str)) {
        ("docker", Some(sub)) | ("sudo", Some(sub)) if first == "docker" || sub == "docker" => {
            let args: Vec<&str> = words
                .iter()
                .skip(if first == "sudo" { 2 } else { 1 })
                .map(String::as_str)
                .collect();
            if has_operators {
                return if matches!(args.first(), Some(&"build") | Some(&"run")) {
                    Mapped::Unmapped(
                        "a docker build or run combined with other shell commands".into(),
                    )
                } else {
                    Mapped::Host
                };
            }
            docker(&args, dropped)
        }
        ("curl", _) if !has_operators => curl(&words[1..]),
        ("wget", _) if !has_operators => wget(&words[1..]),
        _ => Mapped::Host,
    }
}

/// `docker run ...; sleep 10` or `&& sleep 10`: the command and the sleep.
fn strip_trailing_sleep(line: &str) -> (&str, Option<String>) {
    for sep in ["&&", ";"] {
        if let Some((head, tail)) = line.rsplit_once(sep) {
            let tail = tail.trim();
            if let Some(n) = tail.strip_prefix("sleep ")
                && n.trim().parse::<f64>().is_ok()
            {
                return (head.trim(), Some(tail.to_string()));
            }
        }
    }
    (line, None)
}

fn docker(args: &[&str], dropped: Option<String>) -> Mapped {
    match args.first().copied() {
        Some("build") => docker_build(&args[1..]),
        Some("run") => docker_run(&args[1..], dropped),
        Some("info") | Some("version") => Mapped::Done("checks the Docker engine: Slipway does"),
        Some("login") => Mapped::Done("a registry login: Slipway uses your accounts"),
        Some("push") => Mapped::Done("pushes the image: the registry push does this"),
        Some("stop") | Some("rm") | Some("kill") => {
            Mapped::Done("removes containers: Slipway's cleanup does")
        }
        _ => Mapped::Host,
    }
}

/// A flag's value: `-t X`, `-tX`, `--tag X` or `--tag=X`.
fn take_value<'a>(
    args: &[&'a str],
    i: &mut usize,
    short: Option<&str>,
    long: &str,
) -> Option<Result<&'a str, String>> {
    let arg = args[*i];
    if let Some(rest) = arg.strip_prefix(&format!("{long}=")) {
        return Some(Ok(rest));
    }
    let is_flag = arg == long || short.is_some_and(|s| arg == s);
    if let Some(s) = short
        && arg.starts_with(s)
        && arg.len() > s.len()
        && !arg.starts_with("--")
    {
        return Some(Ok(&arg[s.len()..]));
    }
    if !is_flag {
        return None;
    }
    *i += 1;
    Some(
        args.get(*i)
            .copied()
            .ok_or_else(|| format!("{arg} needs a value")),
    )
}

fn key_value(text: &str) -> Option<(String, String)> {
    let (k, v) = text.split_once('=')?;
    Some((k.to_string(), v.to_string()))
}

fn docker_build(args: &[&str]) -> Mapped {
    let mut build = BuildCmd::default();
    let mut positional = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i];
        macro_rules! value {
            ($short:expr, $long:expr) => {
                match take_value(args, &mut i, $short, $long) {
                    Some(Ok(v)) => Some(v),
                    Some(Err(e)) => return Mapped::Unmapped(e),
                    None => None,
                }
            };
        }
        if let Some(v) = value!(Some("-t"), "--tag") {
            build.image = Some(v.to_string());
        } else if let Some(v) = value!(Some("-f"), "--file") {
            build.dockerfile = Some(v.to_string());
        } else if let Some(v) = value!(None, "--build-arg") {
            match key_value(v) {
                Some(kv) => build.args.push(kv),
                None => {
                    return Mapped::Unmapped(format!(
                        "--build-arg {v} takes its value from the environment"
                    ));
                }
            }
        } else if let Some(v) = value!(None, "--target") {
            build.target = Some(v.to_string());
        } else if arg == "--no-cache" {
            build.no_cache = true;
        } else if ["-q", "--quiet", "--rm", "--pull", "--force-rm"].contains(&arg) {
            // Output and intermediate containers: Slipway's own concern.
        } else if arg.starts_with('-') {
            return Mapped::Unmapped(format!("docker build {arg} has no Slipway equivalent"));
        } else {
            positional.push(arg);
        }
        i += 1;
    }
    match positional.as_slice() {
        [context] if !context.contains("://") && *context != "-" => {
            build.context = context.to_string();
            Mapped::Build(build)
        }
        [context] => Mapped::Unmapped(format!("a build context from {context}")),
        _ => Mapped::Unmapped("docker build needs exactly one context folder".into()),
    }
}

fn parse_publish(text: &str) -> Result<Publish, String> {
    let bad = || format!("-p {text} is not a port mapping Slipway can publish");
    let spec = text.split('/').next().unwrap_or(text);
    let parts: Vec<&str> = spec.split(':').collect();
    let port = |p: &str| p.parse::<u16>().map_err(|_| bad());
    match parts.as_slice() {
        [c] => Ok(Publish {
            host: None,
            container: port(c)?,
        }),
        [h, c] | [_, h, c] if h.is_empty() => Ok(Publish {
            host: None,
            container: port(c)?,
        }),
        [h, c] | [_, h, c] => Ok(Publish {
            host: Some(port(h)?),
            container: port(c)?,
        }),
        _ => Err(bad()),
    }
}

fn docker_run(args: &[&str], dropped: Option<String>) -> Mapped {
    let mut run = RunCmd {
        dropped,
        ..RunCmd::default()
    };
    let mut i = 0;
    while i < args.len() {
        let arg = args[i];
        macro_rules! value {
            ($short:expr, $long:expr) => {
                match take_value(args, &mut i, $short, $long) {
                    Some(Ok(v)) => Some(v),
                    Some(Err(e)) => return Mapped::Unmapped(e),
                    None => None,
                }
            };
        }
        if !arg.starts_with('-') {
            run.image = arg.to_string();
            run.command = args[i + 1..].iter().map(|s| s.to_string()).collect();
            return Mapped::Run(run);
        }
        if let Some(v) = value!(Some("-p"), "--publish") {
            match parse_publish(v) {
                Ok(p) => run.ports.push(p),
                Err(e) => return Mapped::Unmapped(e),
            }
        } else if let Some(v) = value!(Some("-e"), "--env") {
            match key_value(v) {
                Some(kv) => run.env.push(kv),
                None => {
                    return Mapped::Unmapped(format!(
                        "-e {v} takes its value from the environment: set it under [run.env]"
                    ));
                }
            }
        } else if value!(None, "--name").is_some() {
            // Slipway names and labels its own containers.
        } else if ["-d", "--detach", "--rm", "-i", "-t", "-it", "-ti"].contains(&arg) {
            // Slipway runs it detached and removes it itself.
        } else {
            return Mapped::Unmapped(format!("docker run {arg} has no Slipway equivalent"));
        }
        i += 1;
    }
    Mapped::Unmapped("docker run without an image".into())
}

fn seconds(text: &str) -> Option<u64> {
    text.parse::<f64>().ok().map(|s| s.max(0.0).ceil() as u64)
}

/// The shortest timeout a derived probe gets.
const MIN_TIMEOUT: u64 = 10;

fn curl(args: &[String]) -> Mapped {
    let mut retries = 0u64;
    let mut delay = 1u64;
    let mut fail = false;
    let mut url = None;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        match arg {
            "--retry" | "--retry-delay" | "--retry-max-time" | "-m" | "--max-time"
            | "--connect-timeout" => {
                let Some(v) = args.get(i + 1).and_then(|v| seconds(v)) else {
                    return Mapped::Unmapped(format!("curl {arg} needs a number"));
                };
                match arg {
                    "--retry" => retries = v,
                    "--retry-delay" => delay = v.max(1),
                    _ => {}
                }
                i += 1;
            }
            "-f" | "--fail" | "-sf" | "-fs" | "-fsS" | "-sSf" | "-Sf" | "-fS"
            | "--fail-with-body" => fail = true,
            "-v"
            | "--verbose"
            | "-s"
            | "--silent"
            | "-S"
            | "--show-error"
            | "-sS"
            | "-L"
            | "--location"
            | "--retry-connrefused"
            | "--retry-all-errors"
            | "-I"
            | "--head"
            | "-o/dev/null" => {}
            "-o" | "--output" => i += 1,
            a if a.starts_with('-') => {
                return Mapped::Unmapped(format!("curl {a} is more than a readiness check"));
            }
            a => url = Some(a.to_string()),
        }
        i += 1;
    }
    let Some(url) = url else {
        return Mapped::Unmapped("curl without a URL".into());
    };
    Mapped::Probe(ReadyCmd {
        url: with_scheme(&url),
        timeout: Duration::from_secs((retries * delay).max(MIN_TIMEOUT)),
        any_status: !fail,
    })
}

fn wget(args: &[String]) -> Mapped {
    let mut tries = 20u64;
    let mut wait = 10u64;
    let mut url = None;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        if let Some(v) = arg.strip_prefix("--tries=").and_then(seconds) {
            tries = v.max(1);
        } else if let Some(v) = arg.strip_prefix("--waitretry=").and_then(seconds) {
            wait = v;
        } else if arg == "-t" || arg == "--tries" {
            tries = args.get(i + 1).and_then(|v| seconds(v)).unwrap_or(tries);
            i += 1;
        } else if arg == "-O" || arg == "--output-document" {
            i += 1;
        } else if arg.starts_with("-O")
            || ["-q", "--quiet", "--spider", "--retry-connrefused", "-S"].contains(&arg)
        {
        } else if arg.starts_with('-') {
            return Mapped::Unmapped(format!("wget {arg} is more than a readiness check"));
        } else {
            url = Some(arg.to_string());
        }
        i += 1;
    }
    let Some(url) = url else {
        return Mapped::Unmapped("wget without a URL".into());
    };
    Mapped::Probe(ReadyCmd {
        url: with_scheme(&url),
        timeout: Duration::from_secs((tries * wait).max(MIN_TIMEOUT)),
        any_status: false,
    })
}

/// `until curl ...; do sleep N; done`: a probe that waits as long as it takes.
fn until_loop(line: &str) -> Option<Mapped> {
    let body = line.strip_prefix("until ")?.trim_end();
    let body = body.strip_suffix("done")?.trim_end().strip_suffix(';')?;
    let (probe, rest) = body.split_once("; do ")?;
    rest.trim().strip_prefix("sleep ")?;
    let mapped = classify(probe);
    Some(match mapped {
        Mapped::Probe(mut ready) => {
            ready.timeout = ready.timeout.max(Duration::from_secs(60));
            Mapped::Probe(ready)
        }
        _ => Mapped::Unmapped("an until loop around something other than curl or wget".into()),
    })
}

fn with_scheme(url: &str) -> String {
    if url.contains("://") {
        url.to_string()
    } else {
        format!("http://{url}")
    }
}

/// The files a dependency install reads (`pip install -r requirements.txt`,
/// `npm ci`, `bundle install`): the step need not run again while they and
/// the command are unchanged. Empty for any other command.
pub fn dependency_files(line: &str) -> Vec<String> {
    let Some(words) = shlex::split(line) else {
        return Vec::new();
    };
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match words.as_slice() {
        [pip, "install", rest @ ..] if pip.starts_with("pip") || *pip == "python" => rest
            .windows(2)
            .filter(|w| w[0] == "-r" || w[0] == "--requirement")
            .map(|w| w[1].to_string())
            .collect(),
        ["python" | "python3", "-m", "pip", "install", rest @ ..] => rest
            .windows(2)
            .filter(|w| w[0] == "-r" || w[0] == "--requirement")
            .map(|w| w[1].to_string())
            .collect(),
        ["npm", "ci"] => vec!["package-lock.json".into()],
        ["npm", "install"] => vec!["package.json".into(), "package-lock.json".into()],
        ["yarn"] | ["yarn", "install", ..] => vec!["package.json".into(), "yarn.lock".into()],
        ["bundle", "install", ..] => vec!["Gemfile".into(), "Gemfile.lock".into()],
        _ => Vec::new(),
    }
}

/// Host and port (80 by default) and path of an http URL on this machine
/// (`localhost`, `127.0.0.1`, `0.0.0.0`), or `None` for any other.
pub fn local_target(url: &str) -> Option<(u16, String)> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let local = matches!(
        parsed.host_str(),
        Some("localhost" | "127.0.0.1" | "0.0.0.0" | "[::1]")
    );
    if !local || parsed.scheme() != "http" {
        return None;
    }
    let mut path = parsed.path().to_string();
    if let Some(q) = parsed.query() {
        path.push('?');
        path.push_str(q);
    }
    Some((parsed.port().unwrap_or(80), path))
}

/// Rewrites `localhost:PORT` (and `127.0.0.1:PORT`) in a host step to the
/// port Slipway published instead, through the variables it sets.
pub fn rewrite_port(line: &str, host_port: u16) -> String {
    let mut out = line.to_string();
    for host in ["localhost", "127.0.0.1", "0.0.0.0"] {
        out = out.replace(
            &format!("{host}:{host_port}"),
            "${SLIPWAY_HOST}:${SLIPWAY_PORT}",
        );
        if host_port == 80 {
            for scheme in ["http://"] {
                for end in ["/", "\"", "'", " "] {
                    out = out.replace(
                        &format!("{scheme}{host}{end}"),
                        &format!("{scheme}${{SLIPWAY_HOST}}:${{SLIPWAY_PORT}}{end}"),
                    );
                }
                if out.ends_with(&format!("{scheme}{host}")) {
                    out.push_str(":${SLIPWAY_PORT}");
                    out = out.replacen(
                        &format!("{scheme}{host}:${{SLIPWAY_PORT}}"),
                        &format!("{scheme}${{SLIPWAY_HOST}}:${{SLIPWAY_PORT}}"),
                        1,
                    );
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classic_lines() {
        let Mapped::Build(b) = classify("docker build -t user/app .") else {
            panic!()
        };
        assert_eq!(
            (b.image.as_deref(), b.context.as_str()),
            (Some("user/app"), ".")
        );
        let Mapped::Build(b) = classify(
            "docker build --tag=me/web:1.2 -f docker/Dockerfile --build-arg MODE=test --target final --no-cache web",
        ) else {
            panic!()
        };
        assert_eq!(b.image.as_deref(), Some("me/web:1.2"));
        assert_eq!(b.dockerfile.as_deref(), Some("docker/Dockerfile"));
        assert_eq!(b.args, vec![("MODE".into(), "test".into())]);
        assert_eq!(
            (b.target.as_deref(), b.no_cache, b.context.as_str()),
            (Some("final"), true, "web")
        );

        let Mapped::Run(r) = classify("docker run -d -p 80:80 user/app; sleep 10") else {
            panic!()
        };
        assert_eq!(
            r.ports,
            vec![Publish {
                host: Some(80),
                container: 80
            }]
        );
        assert_eq!(
            (r.image.as_str(), r.dropped.as_deref()),
            ("user/app", Some("sleep 10"))
        );
        let Mapped::Run(r) = classify(
            "docker run -d -p 127.0.0.1:8080:5000 -e MODE=test --name web user/app python app.py && sleep 3",
        ) else {
            panic!()
        };
        assert_eq!(
            r.ports,
            vec![Publish {
                host: Some(8080),
                container: 5000
            }]
        );
        assert_eq!(r.env, vec![("MODE".into(), "test".into())]);
        assert_eq!(r.command, vec!["python", "app.py"]);

        let Mapped::Probe(p) = classify("curl --retry 10 --retry-delay 5 -v http://localhost:80")
        else {
            panic!()
        };
        assert_eq!(
            (p.url.as_str(), p.timeout.as_secs(), p.any_status),
            ("http://localhost:80", 50, true)
        );
        let Mapped::Probe(p) = classify("curl -f --retry 3 localhost:8080/health") else {
            panic!()
        };
        assert_eq!(
            (p.url.as_str(), p.timeout.as_secs(), p.any_status),
            ("http://localhost:8080/health", 10, false)
        );
        let Mapped::Probe(p) = classify("wget -q --tries=5 --waitretry=4 -O- http://127.0.0.1/")
        else {
            panic!()
        };
        assert_eq!((p.timeout.as_secs(), p.any_status), (20, false));
        let Mapped::Probe(p) = classify("until curl -sf http://localhost:80/; do sleep 1; done")
        else {
            panic!()
        };
        assert_eq!(p.timeout.as_secs(), 60);

        assert!(matches!(classify("docker info"), Mapped::Done(_)));
        assert!(matches!(classify("sleep 10"), Mapped::Done(_)));
        assert!(matches!(classify("docker push user/app"), Mapped::Done(_)));
        assert_eq!(classify("pip install -r requirements.txt"), Mapped::Host);
        assert_eq!(classify("python app/tests.py"), Mapped::Host);
        assert_eq!(classify("curl -s localhost/api | grep ok"), Mapped::Host);
    }

    #[test]
    fn what_cannot_be_mapped_says_why() {
        let why = |line: &str| match classify(line) {
            Mapped::Unmapped(why) => why,
            other => panic!("{line}: {other:?}"),
        };
        assert!(why("docker run -d --network host user/app").contains("--network"));
        assert!(why("docker build -t a . && docker run -d a").contains("combined"));
        assert!(why("docker run -d -e TOKEN user/app").contains("environment"));
        assert!(why("docker build https://github.com/x/y.git").contains("context"));
        assert!(why("echo 'unbalanced").contains("quotes"));
    }

    #[test]
    fn dependency_installs_name_their_files() {
        assert_eq!(
            dependency_files("pip install -r requirements.txt"),
            ["requirements.txt"]
        );
        assert_eq!(
            dependency_files("python3 -m pip install -r req/dev.txt -r req/base.txt"),
            ["req/dev.txt", "req/base.txt"]
        );
        assert_eq!(dependency_files("npm ci"), ["package-lock.json"]);
        assert!(dependency_files("pip install flask").is_empty());
        assert!(dependency_files("python app/tests.py").is_empty());
    }

    #[test]
    fn local_urls_map_to_the_published_port() {
        assert_eq!(local_target("http://localhost:80"), Some((80, "/".into())));
        assert_eq!(
            local_target("http://127.0.0.1:8080/a?b=1"),
            Some((8080, "/a?b=1".into()))
        );
        assert_eq!(local_target("http://example.com/"), None);
        assert_eq!(
            rewrite_port("curl -f http://localhost:80/cities", 80),
            "curl -f http://${SLIPWAY_HOST}:${SLIPWAY_PORT}/cities"
        );
        assert_eq!(
            rewrite_port("curl http://localhost/x", 80),
            "curl http://${SLIPWAY_HOST}:${SLIPWAY_PORT}/x"
        );
        assert_eq!(
            rewrite_port("python app/tests.py", 80),
            "python app/tests.py"
        );
    }
}
