//! A read CI config as a commented `slipway.toml`: each section says the
//! line it came from, and what was not imported is listed at the end.

use std::fmt::Write as _;
use std::path::Path;

use crate::config::toml_text::{TomlText, inline_table, key, quote};

use super::commands::{
    BuildCmd, Mapped, ReadyCmd, RunCmd, classify, dependency_files, local_target, rewrite_port,
};
use super::{CiCommand, CiConfig, CiDeploy, Note};

/// The TOML and what the user should know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    pub toml: String,
    pub skipped: Vec<Note>,
    pub unmapped: Vec<Note>,
    pub secrets_to_set: Vec<String>,
}

/// Name and tag of `NAME[:TAG]` (a registry's `host:port/` is part of the name).
fn split_image(image: &str) -> (String, Option<String>) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name.to_string(), Some(tag.to_string())),
        _ => (image.to_string(), None),
    }
}

/// The commands of a CI config, sorted into the pipeline's parts.
struct Parts<'c> {
    build: Option<(BuildCmd, &'c CiCommand)>,
    run: Option<(RunCmd, &'c CiCommand)>,
    ready: Option<(ReadyCmd, &'c CiCommand)>,
    steps: Vec<&'c CiCommand>,
    skipped: Vec<Note>,
    unmapped: Vec<Note>,
}

/// Where a line of the CI file is, as `file:line`.
type At<'a> = &'a dyn Fn(usize) -> String;

/// Renders `ci`, read from `file`, as the pipeline of the project at `root`.
pub(crate) fn render(root: &Path, file: &Path, project: &str, ci: &CiConfig) -> Rendered {
    let shown = file
        .strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string();
    let at = |line: usize| format!("{shown}:{line}");
    let mut parts = sort(ci);
    let mut out = TomlText::default();
    let _ = writeln!(
        out,
        "# Slipway pipeline imported from {shown} ({}) by `slipway import`.\n\
         # Each part names the line it came from. Reference: `slipway schema`.\n",
        ci.version
    );
    out.push_str("cleanup = \"always\"\n\n[image]\n");
    let outside = image_and_build(&mut out, &parts, &shown, &at);
    parts.unmapped.extend(outside);
    let host_port = run_section(&mut out, root, &parts, &shown, &at);
    ready_section(&mut out, &parts, &at);
    service_sections(&mut out, &ci.services, &at);
    test_sections(&mut out, root, ci, &parts.steps, host_port, &at);
    let mut secrets_to_set = Vec::new();
    for deploy in &ci.deploys {
        deploy_section(
            &mut out,
            deploy,
            project,
            &at,
            &mut secrets_to_set,
            &mut parts.unmapped,
        );
    }
    notes(&mut out, &parts.skipped, &parts.unmapped, &at);
    Rendered {
        toml: out.finish(),
        skipped: parts.skipped,
        unmapped: parts.unmapped,
        secrets_to_set,
    }
}

/// Each command in the part of the pipeline it maps to.
fn sort(ci: &CiConfig) -> Parts<'_> {
    let mut parts = Parts {
        build: None,
        run: None,
        ready: None,
        steps: Vec::new(),
        skipped: ci.skipped.clone(),
        unmapped: ci.unmapped.clone(),
    };
    for cmd in &ci.commands {
        let note = |why: String| Note {
            line: cmd.line,
            text: cmd.text.clone(),
            why,
        };
        match classify(&cmd.text) {
            Mapped::Build(b) if parts.build.is_none() => parts.build = Some((b, cmd)),
            Mapped::Build(_) => parts
                .unmapped
                .push(note("a second image: the pipeline builds one".into())),
            Mapped::Run(r) if parts.run.is_none() => parts.run = Some((r, cmd)),
            Mapped::Run(_) => parts
                .unmapped
                .push(note("a second container: the pipeline runs one".into())),
            Mapped::Probe(p)
                if parts.ready.is_none()
                    && parts.run.is_some()
                    && parts.steps.is_empty()
                    && local_target(&p.url).is_some() =>
            {
                parts.ready = Some((p, cmd))
            }
            Mapped::Probe(_) | Mapped::Host => parts.steps.push(cmd),
            Mapped::Done(why) => parts.skipped.push(note(why.into())),
            Mapped::Unmapped(why) => parts.unmapped.push(note(why)),
        }
    }
    parts.skipped.sort_by_key(|n| n.line);
    parts.unmapped.sort_by_key(|n| n.line);
    parts
}

/// `[image]`'s values and `[build]`; what could not be mapped.
fn image_and_build(out: &mut TomlText, parts: &Parts<'_>, shown: &str, at: At<'_>) -> Vec<Note> {
    let mut unmapped = Vec::new();
    let Some((b, cmd)) = &parts.build else {
        let _ = writeln!(
            out,
            "# {shown} builds no image: the Dockerfile at the project's root is built.\n\n[build]\ncontext = \".\""
        );
        return unmapped;
    };
    let _ = writeln!(out, "# {}: {}", at(cmd.line), cmd.text);
    if let Some(image) = &b.image {
        let (name, tag) = split_image(image);
        let _ = writeln!(out, "name = {}", quote(&name));
        if let Some(tag) = tag {
            let _ = writeln!(out, "tag = {}", quote(&tag));
        }
    }
    out.push_str("\n[build]\n");
    let _ = writeln!(out, "context = {}", quote(&b.context));
    if let Some(f) = &b.dockerfile {
        let relative = if b.context == "." {
            Some(f.trim_start_matches("./").to_string())
        } else {
            f.strip_prefix(&format!("{}/", b.context.trim_end_matches('/')))
                .map(str::to_string)
        };
        match relative {
            Some(f) => {
                let _ = writeln!(out, "dockerfile = {}", quote(&f));
            }
            None => unmapped.push(Note {
                line: cmd.line,
                text: format!("-f {f}"),
                why: "a Dockerfile outside the build context: set `dockerfile` by hand".into(),
            }),
        }
    }
    if !b.args.is_empty() {
        let _ = writeln!(out, "args = {}", inline_table(&b.args));
    }
    if let Some(t) = &b.target {
        let _ = writeln!(out, "target = {}", quote(t));
    }
    if b.no_cache {
        out.push_str("no-cache = true\n");
    }
    unmapped
}

/// `[run]`; the first host port the CI's container published, if any.
fn run_section(
    out: &mut TomlText,
    root: &Path,
    parts: &Parts<'_>,
    shown: &str,
    at: At<'_>,
) -> Option<u16> {
    out.push_str("\n[run]\n");
    let Some((r, cmd)) = &parts.run else {
        let exposed = std::fs::read_to_string(root.join("Dockerfile"))
            .map(|d| crate::config::exposed_ports(&d))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "# {shown} runs no container: the Dockerfile's EXPOSEd port is published."
        );
        let ports: Vec<String> = exposed
            .iter()
            .take(1)
            .map(|p| quote(&p.to_string()))
            .collect();
        let _ = writeln!(out, "ports = [{}]", ports.join(", "));
        return None;
    };
    let _ = writeln!(out, "# {}: {}", at(cmd.line), cmd.text);
    if let Some(dropped) = &r.dropped {
        let _ = writeln!(
            out,
            "# (`{dropped}` is dropped: the readiness step waits instead)"
        );
    }
    if r.ports.iter().any(|p| p.host.is_some()) {
        out.push_str(
            "# The host ports it named may be taken: a free one is used, and host steps\n\
             # get it as SLIPWAY_HOST, SLIPWAY_PORT and SLIPWAY_URL.\n",
        );
    }
    let ports: Vec<String> = r
        .ports
        .iter()
        .map(|p| quote(&p.container.to_string()))
        .collect();
    let _ = writeln!(out, "ports = [{}]", ports.join(", "));
    if !r.env.is_empty() {
        let _ = writeln!(out, "env = {}", inline_table(&r.env));
    }
    if !r.command.is_empty() {
        let argv: Vec<String> = r.command.iter().map(|a| quote(a)).collect();
        let _ = writeln!(out, "command = [{}]", argv.join(", "));
    }
    r.ports.first().and_then(|p| p.host)
}

/// `[ready]`, from the CI's probe of the container.
fn ready_section(out: &mut TomlText, parts: &Parts<'_>, at: At<'_>) {
    let Some((p, cmd)) = &parts.ready else {
        return;
    };
    let _ = writeln!(out, "\n[ready]\n# {}: {}", at(cmd.line), cmd.text);
    let (port, path) = local_target(&p.url).unwrap_or((0, "/".into()));
    let container = parts.run.as_ref().and_then(|(r, _)| {
        r.ports
            .iter()
            .find(|m| m.host == Some(port) || (m.host.is_none() && m.container == port))
            .map(|m| m.container)
    });
    match container {
        Some(c) => {
            let _ = writeln!(out, "http = {}\nport = {c}", quote(&path));
        }
        None => {
            let _ = writeln!(out, "http = {}", quote(&p.url));
        }
    }
    let status = if p.any_status { "100-599" } else { "200-399" };
    let _ = writeln!(
        out,
        "status = {}   # {}\ntimeout = \"{}s\"   # as long as the command kept trying\ninterval = \"10ms\"   # a local port: looking often costs nothing",
        quote(status),
        if p.any_status {
            "curl without -f accepts any answer"
        } else {
            "an error status fails it"
        },
        p.timeout.as_secs()
    );
}

/// A `[[service]]` per secondary image.
fn service_sections(out: &mut TomlText, services: &[super::CiService], at: At<'_>) {
    for service in services {
        let _ = writeln!(
            out,
            "\n[[service]]\n# {}: a secondary image; CircleCI serves it on localhost, here the app reaches it as {} (host steps: ${}_HOST and _PORT)",
            at(service.line),
            service.name,
            crate::config::service_env_prefix(&service.name)
        );
        let _ = writeln!(out, "name = {}", quote(&service.name));
        let _ = writeln!(out, "image = {}", quote(&service.image));
        if !service.env.is_empty() {
            let _ = writeln!(out, "env = {}", inline_table(&service.env));
        }
        if let Some(port) = service.port {
            let _ = writeln!(out, "ready = {{ tcp = {port} }}");
        }
    }
}

/// A `[[test]]` per remaining command, on the host.
fn test_sections(
    out: &mut TomlText,
    root: &Path,
    ci: &CiConfig,
    steps: &[&CiCommand],
    host_port: Option<u16>,
    at: At<'_>,
) {
    for cmd in steps {
        let _ = writeln!(out, "\n[[test]]\n# {}", at(cmd.line));
        let mut line = match host_port {
            Some(port) => rewrite_port(&cmd.text, port),
            None => cmd.text.clone(),
        };
        if let Some(dir) = &cmd.dir {
            line = format!("cd {} && {line}", shlex::try_quote(dir).unwrap_or_default());
        }
        if line != cmd.text {
            // Named as the user wrote it; run with the port Slipway published.
            let _ = writeln!(out, "name = {}", quote(&cmd.text));
        }
        let _ = writeln!(out, "run = {}\nin = \"host\"", quote(&line));
        // Installs again only when what it installs from changes.
        let files: Vec<String> = dependency_files(&cmd.text)
            .into_iter()
            .filter(|f| cmd.dir.is_none() && root.join(f).is_file())
            .map(|f| quote(&f))
            .collect();
        if !files.is_empty() {
            let _ = writeln!(
                out,
                "cache = [{}]   # runs again when these or the command change",
                files.join(", ")
            );
        }
        let env: Vec<(String, String)> = ci.env.iter().chain(&cmd.env).cloned().collect();
        if !env.is_empty() {
            let _ = writeln!(out, "env = {}", inline_table(&env));
        }
    }
}

/// What was recognised without a step, and what was not imported.
fn notes(out: &mut TomlText, skipped: &[Note], unmapped: &[Note], at: At<'_>) {
    if !skipped.is_empty() {
        out.push_str("\n# Recognised, with no step of their own:\n");
        for n in skipped {
            let _ = writeln!(
                out,
                "#   {}: {} ({})",
                at(n.line),
                n.text.replace('\n', " "),
                n.why
            );
        }
    }
    if unmapped.is_empty() {
        return;
    }
    out.push_str("\n# NOT IMPORTED: add these by hand or remove them.\n");
    for n in unmapped {
        let _ = writeln!(
            out,
            "#   {}: {} ({})",
            at(n.line),
            n.text.replace('\n', " "),
            n.why
        );
        // A command can be kept as it is, as a host step: uncomment it.
        if n.text.contains(' ') && !n.text.contains('\n') {
            let _ = writeln!(
                out,
                "#   To keep it as a host step:\n# [[test]]\n# run = {}\n# in = \"host\"",
                quote(&n.text)
            );
        }
    }
}

/// `$DEPLOY` or `${DEPLOY}` alone: the variable's name.
fn only_variable(text: &str) -> Option<&str> {
    let t = text.trim();
    let name = t
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .or_else(|| t.strip_prefix('$'))?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(name)
}

/// A Docker Hub build trigger: `curl ... build=true ... URL`.
fn is_hub_trigger(text: &str) -> bool {
    text.trim_start().starts_with("curl ")
        && text.contains("build=true")
        && (text.contains("hub.docker.com") || text.contains("/trigger/"))
}

fn deploy_section(
    out: &mut TomlText,
    deploy: &CiDeploy,
    project: &str,
    at: At<'_>,
    secrets: &mut Vec<String>,
    unmapped: &mut Vec<Note>,
) {
    let _ = writeln!(
        out,
        "\n[deploy.{}]\n# {}: deployment {}",
        key(&deploy.name),
        at(deploy.line),
        deploy.name
    );
    let set = format!(
        "slipway secret set deploy-trigger {project}/{}",
        deploy.name
    );
    match deploy.commands.as_slice() {
        [one] if only_variable(&one.text).is_some() => {
            let var = only_variable(&one.text).unwrap_or_default();
            let _ = writeln!(
                out,
                "# `{}` was a secret command kept in CircleCI: it is kept in your keychain\n\
                 # (`{set}`, the command on stdin), never in this file.\nkind = \"command\"",
                one.text
            );
            secrets.push(format!("{set}   # the value of ${var}"));
        }
        [one] if is_hub_trigger(&one.text) => {
            let _ = writeln!(
                out,
                "# {}: a Docker Hub build trigger. Its URL is a secret: it is kept in your\n\
                 # keychain (`{set}`, the URL on stdin), never in this file.\nkind = \"dockerhub\"",
                at(one.line)
            );
            secrets.push(format!("{set}   # the trigger URL of {}", at(one.line)));
        }
        [] => {
            out.push_str("kind = \"command\"\n");
            unmapped.push(Note {
                line: deploy.line,
                text: format!("deployment {}", deploy.name),
                why: "no commands: say what it runs with `run`".into(),
            });
        }
        many => {
            let script: Vec<String> = many
                .iter()
                .map(|c| match &c.dir {
                    Some(d) => format!(
                        "(cd {} && {})",
                        shlex::try_quote(d).unwrap_or_default(),
                        c.text
                    ),
                    None => c.text.clone(),
                })
                .collect();
            let _ = writeln!(
                out,
                "kind = \"command\"\nrun = {}",
                quote(&script.join(" && "))
            );
        }
    }
    if let Some(branch) = &deploy.branch {
        let _ = writeln!(out, "branch = {}", quote(branch));
    }
}
