//! CircleCI 2.x (`.circleci/config.yml`): the jobs' `run` steps (string and
//! map forms, with `working_directory` and `environment`), `checkout` and
//! `setup_remote_docker` recognised, in the first workflow's order; a job
//! the workflow runs only for one branch is a deployment.

use std::path::Path;

use marked_yaml::Node;
use marked_yaml::types::MarkedMappingNode;

use super::yaml::{self, error, items, key_line, known_keys, line, mapping, text};
use super::{CiCommand, CiConfig, CiDeploy, Note};
use crate::config::ConfigError;

/// The keys of a CircleCI 2.x config's top level.
pub(crate) const TOP_KEYS: [&str; 9] = [
    "version",
    "jobs",
    "workflows",
    "orbs",
    "commands",
    "executors",
    "parameters",
    "setup",
    "references",
];
/// The keys of a CircleCI 2.x job.
pub(crate) const JOB_KEYS: [&str; 14] = [
    "docker",
    "machine",
    "macos",
    "executor",
    "working_directory",
    "environment",
    "steps",
    "parallelism",
    "resource_class",
    "shell",
    "parameters",
    "circleci_ip_ranges",
    "branches",
    "description",
];

pub(crate) fn read(file: &Path, source: &str) -> Result<CiConfig, ConfigError> {
    let top = yaml::parse(file, source)?;
    known_keys(file, &top, "the CircleCI config", &TOP_KEYS)?;
    let version = top
        .get_node("version")
        .map(|v| text(file, v, "version").map(str::to_string))
        .transpose()?
        .unwrap_or_default();
    if !version.starts_with('2') {
        let at = top
            .get_node("version")
            .cloned()
            .unwrap_or_else(|| Node::from("version"));
        return Err(error(
            file,
            &at,
            format!("CircleCI config version {version:?}: Slipway reads 2 and 2.1"),
        )
        .with_hint("A CircleCI 1.0 project has circle.yml at its root instead."));
    }
    let mut ci = CiConfig {
        version: "CircleCI 2.x",
        ..CiConfig::default()
    };
    for key in ["orbs", "commands", "executors", "parameters"] {
        if top.get_node(key).is_some() {
            ci.unmapped.push(Note {
                line: key_line(&top, key),
                text: key.into(),
                why: format!(
                    "{key} are CircleCI's reusable parts: steps that use them are not imported"
                ),
            });
        }
    }
    let Some(jobs_node) = top.get_node("jobs") else {
        return Err(error(
            file,
            &Node::Mapping(top.clone()),
            "the CircleCI config has no jobs".into(),
        ));
    };
    let jobs = mapping(file, jobs_node, "jobs")?;
    let (order, branches) = workflow_order(file, &top, jobs)?;
    ci.jobs = order.len();
    for name in order {
        let Some(job_node) = jobs.get_node(&name) else {
            continue;
        };
        let job = mapping(file, job_node, &format!("jobs.{name}"))?;
        known_keys(file, job, &format!("jobs.{name}"), &JOB_KEYS)?;
        if let Some(env) = job.get_node("environment") {
            ci.env.extend(yaml::env(file, env)?);
        }
        // Images after the first run beside the job: services.
        if let Some(docker) = job.get_node("docker") {
            for image in items(docker).into_iter().skip(1) {
                let Some(entry) = image.as_mapping() else {
                    continue;
                };
                let Some(name) = entry.get_node("image") else {
                    continue;
                };
                let mut service =
                    super::CiService::of_image(text(file, name, "image")?, line(image));
                if let Some(env) = entry.get_node("environment") {
                    service.env = yaml::env(file, env)?;
                }
                if !ci.services.iter().any(|s| s.name == service.name) {
                    ci.services.push(service);
                }
            }
        }
        let mut commands = Vec::new();
        if let Some(steps) = job.get_node("steps") {
            for step in items(steps) {
                self::step(file, step, &mut commands, &mut ci.skipped, &mut ci.unmapped)?;
            }
        }
        match branches.iter().find(|(job, _)| *job == name) {
            Some((_, branch)) => ci.deploys.push(CiDeploy {
                name: name.clone(),
                branch: Some(branch.clone()),
                line: line(job_node),
                commands,
            }),
            None => ci.commands.extend(commands),
        }
    }
    Ok(ci)
}

/// The jobs in the order the first workflow runs them (all jobs in file
/// order when there is no workflow), and the jobs it runs for one branch.
#[allow(clippy::type_complexity)]
fn workflow_order(
    file: &Path,
    top: &MarkedMappingNode,
    jobs: &MarkedMappingNode,
) -> Result<(Vec<String>, Vec<(String, String)>), ConfigError> {
    let all: Vec<String> = jobs.iter().map(|(k, _)| k.as_str().to_string()).collect();
    let Some(workflows) = top.get_node("workflows").and_then(Node::as_mapping) else {
        return Ok((all, Vec::new()));
    };
    let Some(flow) = workflows
        .iter()
        .filter(|(k, _)| k.as_str() != "version")
        .find_map(|(_, v)| v.as_mapping())
    else {
        return Ok((all, Vec::new()));
    };
    let mut order = Vec::new();
    let mut branches = Vec::new();
    if let Some(list) = flow.get_node("jobs") {
        for entry in items(list) {
            match entry {
                Node::Scalar(s) => order.push(s.as_str().to_string()),
                Node::Mapping(m) => {
                    let Some((name, spec)) = m.iter().next() else {
                        continue;
                    };
                    order.push(name.as_str().to_string());
                    let only = spec
                        .as_mapping()
                        .and_then(|s| s.get_mapping("filters"))
                        .and_then(|f| f.get_mapping("branches"))
                        .and_then(|b| b.get_node("only"));
                    if let Some(only) = only {
                        let first = items(only)[0];
                        branches.push((
                            name.as_str().to_string(),
                            text(file, first, "a branch filter")?.to_string(),
                        ));
                    }
                }
                Node::Sequence(_) => {}
            }
        }
    }
    Ok((order, branches))
}

/// One step of a job.
fn step(
    file: &Path,
    step: &Node,
    out: &mut Vec<CiCommand>,
    skipped: &mut Vec<Note>,
    unmapped: &mut Vec<Note>,
) -> Result<(), ConfigError> {
    let (name, body) = match step {
        Node::Scalar(s) => (s.as_str().to_string(), None),
        Node::Mapping(m) => match m.iter().next() {
            Some((k, v)) => (k.as_str().to_string(), Some(v)),
            None => return Ok(()),
        },
        Node::Sequence(_) => {
            return Err(error(
                file,
                step,
                "a step should be a name or a mapping".into(),
            ));
        }
    };
    let note = |why: &str| Note {
        line: line(step),
        text: name.clone(),
        why: why.into(),
    };
    match name.as_str() {
        "checkout" => skipped.push(note("the project folder is the checkout")),
        "setup_remote_docker" => skipped.push(note("Slipway uses your Docker engine")),
        "save_cache" | "restore_cache" => {
            skipped.push(note("caching: a local run keeps its files"))
        }
        "store_artifacts" | "store_test_results" | "persist_to_workspace" | "attach_workspace" => {
            skipped.push(note("the files stay in the project folder"))
        }
        "run" => {
            let Some(body) = body else {
                unmapped.push(note("a run step without a command"));
                return Ok(());
            };
            run_step(file, body, out, unmapped)?;
        }
        "when" | "unless" => unmapped.push(note("a conditional step: add its steps by hand")),
        _ => unmapped.push(note("an orb or reusable command: add its steps by hand")),
    }
    Ok(())
}

fn run_step(
    file: &Path,
    body: &Node,
    out: &mut Vec<CiCommand>,
    unmapped: &mut Vec<Note>,
) -> Result<(), ConfigError> {
    let (command_node, env, dir) = match body {
        Node::Scalar(_) => (body, Vec::new(), None),
        Node::Mapping(m) => {
            known_keys(
                file,
                m,
                "a run step",
                &[
                    "command",
                    "name",
                    "working_directory",
                    "environment",
                    "background",
                    "shell",
                    "when",
                    "no_output_timeout",
                ],
            )?;
            let Some(command) = m.get_node("command") else {
                return Err(error(file, body, "a run step needs a `command`".into()));
            };
            if m.get_scalar("background")
                .is_some_and(|b| b.as_str() == "true")
            {
                unmapped.push(Note {
                    line: line(body),
                    text: text(file, command, "command")?.to_string(),
                    why: "a background command: run the service as the pipeline's [run]".into(),
                });
                return Ok(());
            }
            let env = match m.get_node("environment") {
                Some(e) => yaml::env(file, e)?,
                None => Vec::new(),
            };
            let dir = m
                .get_node("working_directory")
                .map(|d| text(file, d, "working_directory").map(str::to_string))
                .transpose()?;
            (command, env, dir)
        }
        Node::Sequence(_) => {
            return Err(error(
                file,
                body,
                "a run step should be a command or a mapping".into(),
            ));
        }
    };
    let command = text(file, command_node, "command")?;
    // A block scalar's node starts at its first line of text.
    let first_line = line(command_node);
    let dir = dir.filter(|d| !d.starts_with('~') && d != ".");
    for (n, text) in script_lines(command) {
        out.push(CiCommand {
            text,
            line: first_line + n,
            env: env.clone(),
            dir: dir.clone(),
        });
    }
    Ok(())
}

/// A multi-line script as separate commands when each line is one simple
/// command; as one command otherwise (loops, conditions, continuations).
fn script_lines(script: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = script.lines().collect();
    let compound = lines.iter().any(|l| {
        let t = l.trim();
        t.ends_with('\\')
            || [
                "if ", "then", "fi", "for ", "while ", "do", "done", "case ", "esac", "{", "}",
                "else",
            ]
            .iter()
            .any(|k| t == *k || (k.ends_with(' ') && t.starts_with(k)))
    }) && !lines.iter().all(|l| l.trim().starts_with("until "));
    if compound || lines.len() <= 1 {
        return vec![(0, script.trim_end().to_string())];
    }
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim().starts_with('#'))
        .map(|(n, l)| (n, l.trim().to_string()))
        .collect()
}
