//! CircleCI 1.0 (`circle.yml`): `machine`, `checkout`, `dependencies`,
//! `database`, `compile`, `test` (each with `pre`, `override`, `post`) and
//! `deployment`, in the order CircleCI ran them.

use std::path::Path;

use marked_yaml::Node;
use marked_yaml::types::MarkedMappingNode;

use super::yaml::{self, error, items, key_line, known_keys, line, mapping, text};
use super::{CiCommand, CiConfig, CiDeploy, Note};
use crate::config::ConfigError;

/// The phases whose commands run, in order.
const PHASES: [&str; 6] = [
    "machine",
    "checkout",
    "dependencies",
    "database",
    "compile",
    "test",
];
const TOP: [&str; 10] = [
    "machine",
    "checkout",
    "dependencies",
    "database",
    "compile",
    "test",
    "deployment",
    "general",
    "experimental",
    "notify",
];
const STAGES: [&str; 3] = ["pre", "override", "post"];

pub(crate) fn read(file: &Path, text_: &str) -> Result<CiConfig, ConfigError> {
    let top = yaml::parse(file, text_)?;
    known_keys(file, &top, "circle.yml", &TOP)?;
    let mut ci = CiConfig {
        version: "CircleCI 1.0",
        ..CiConfig::default()
    };
    for key in ["general", "experimental", "notify"] {
        if top.get_node(key).is_some() {
            ci.skipped.push(Note {
                line: key_line(&top, key),
                text: key.into(),
                why: "CircleCI's own settings: nothing to run locally".into(),
            });
        }
    }
    for phase in PHASES {
        let Some(node) = top.get_node(phase) else {
            continue;
        };
        let section = mapping(file, node, phase)?;
        let mut known: Vec<&str> = STAGES.to_vec();
        known.extend(match phase {
            "machine" => &[
                "environment",
                "services",
                "python",
                "node",
                "ruby",
                "java",
                "php",
                "go",
                "timezone",
                "hosts",
                "pre_install",
            ][..],
            "dependencies" => &["cache_directories"][..],
            "test" => &["minitest_globs"][..],
            _ => &[][..],
        });
        known_keys(file, section, phase, &known)?;
        if let Some(env) = section.get_node("environment") {
            ci.env.extend(yaml::env(file, env)?);
        }
        for (key, value) in section.iter() {
            let key = key.as_str();
            if STAGES.contains(&key) || key == "environment" {
                continue;
            }
            // The machine's services, as images of their own where one is known.
            if key == "services" {
                let mut docker = false;
                for item in items(value) {
                    let name = text(file, item, "services")?;
                    let image = match name {
                        "docker" => {
                            docker = true;
                            continue;
                        }
                        "postgresql" | "postgres" => "postgres",
                        "mysql" => "mysql",
                        "redis" => "redis",
                        "mongodb" | "mongod" => "mongo",
                        "memcached" => "memcached",
                        "rabbitmq-server" | "rabbitmq" => "rabbitmq",
                        "elasticsearch" => "elasticsearch",
                        other => {
                            ci.unmapped.push(Note {
                                line: line(item),
                                text: format!("machine.services: {other}"),
                                why: "no image is known for it: add a [[service]] for it by hand"
                                    .into(),
                            });
                            continue;
                        }
                    };
                    ci.services
                        .push(super::CiService::of_image(image, line(item)));
                }
                if !docker {
                    continue;
                }
            }
            ci.skipped.push(Note {
                line: key_line(section, key),
                text: format!("{phase}.{key}"),
                why: match key {
                    "services" => "services: the Docker engine Slipway uses is yours".into(),
                    "cache_directories" => "caching: a local run keeps its files".into(),
                    _ => "the machine's set-up: the host step runs on yours".into(),
                },
            });
        }
        let before = ci.commands.len();
        for stage in STAGES {
            if let Some(list) = section.get_node(stage) {
                commands(file, list, &mut ci.commands, &mut ci.unmapped)?;
            }
        }
        // CircleCI 1.0 machines ran the common databases: the `database`
        // section's clients say which its commands need.
        if phase == "database" {
            for command in &ci.commands[before..] {
                if let Some(image) = database_client(&command.text)
                    && !ci.services.iter().any(|s| s.image == image)
                {
                    ci.services
                        .push(super::CiService::of_image(image, command.line));
                }
            }
        }
    }
    if let Some(node) = top.get_node("deployment") {
        let deployments = mapping(file, node, "deployment")?;
        for (name, value) in deployments.iter() {
            ci.deploys
                .push(deployment(file, name.as_str(), value, &mut ci.unmapped)?);
        }
    }
    Ok(ci)
}

/// The database image a command's client talks to (`psql` → postgres).
fn database_client(command: &str) -> Option<&'static str> {
    let words = shlex::split(command).unwrap_or_default();
    words.iter().find_map(|w| {
        Some(match w.rsplit('/').next().unwrap_or(w) {
            "psql" | "createdb" | "dropdb" | "pg_restore" => "postgres",
            "mysql" | "mysqladmin" => "mysql",
            "redis-cli" => "redis",
            "mongo" | "mongosh" | "mongorestore" => "mongo",
            _ => return None,
        })
    })
}

/// A stage's commands: strings, or `command: {modifiers}` maps.
fn commands(
    file: &Path,
    list: &Node,
    out: &mut Vec<CiCommand>,
    unmapped: &mut Vec<Note>,
) -> Result<(), ConfigError> {
    for item in items(list) {
        match item {
            Node::Scalar(s) => out.push(CiCommand {
                text: s.as_str().to_string(),
                line: line(item),
                env: Vec::new(),
                dir: None,
            }),
            Node::Mapping(map) => {
                let Some((command, modifiers)) = map.iter().next() else {
                    continue;
                };
                let mut cmd = CiCommand {
                    text: command.as_str().to_string(),
                    line: line(item),
                    env: Vec::new(),
                    dir: None,
                };
                if let Some(mods) = modifiers.as_mapping() {
                    if let Some(why) = unsupported_modifier(mods) {
                        unmapped.push(Note {
                            line: cmd.line,
                            text: cmd.text,
                            why,
                        });
                        continue;
                    }
                    if let Some(env) = mods.get_node("environment") {
                        cmd.env = yaml::env(file, env)?;
                    }
                    if let Some(pwd) = mods.get_node("pwd") {
                        cmd.dir = Some(text(file, pwd, "pwd")?.to_string());
                    }
                }
                out.push(cmd);
            }
            Node::Sequence(_) => {
                return Err(error(
                    file,
                    item,
                    "a command should be a line of shell".into(),
                ));
            }
        }
    }
    Ok(())
}

fn unsupported_modifier(mods: &MarkedMappingNode) -> Option<String> {
    if mods
        .get_scalar("background")
        .is_some_and(|b| b.as_str() == "true")
    {
        return Some("a background command: run the service as the pipeline's [run]".into());
    }
    if mods.get_node("parallel").is_some() {
        return Some("parallel commands: run them as separate host steps".into());
    }
    None
}

fn deployment(
    file: &Path,
    name: &str,
    node: &Node,
    unmapped: &mut Vec<Note>,
) -> Result<CiDeploy, ConfigError> {
    let spec = mapping(file, node, &format!("deployment.{name}"))?;
    known_keys(
        file,
        spec,
        &format!("deployment.{name}"),
        &["branch", "tag", "owner", "commands", "heroku", "codedeploy"],
    )?;
    let mut deploy = CiDeploy {
        name: name.to_string(),
        branch: None,
        line: line(node),
        commands: Vec::new(),
    };
    if let Some(branch) = spec.get_node("branch") {
        let branches = items(branch);
        if branches.len() > 1 || text(file, branches[0], "branch")?.starts_with('/') {
            unmapped.push(Note {
                line: key_line(spec, "branch"),
                text: format!("deployment.{name}.branch"),
                why: "several branches or a pattern: a trigger fires for one branch (the first is used)"
                    .into(),
            });
        }
        deploy.branch = Some(
            text(file, branches[0], "branch")?
                .trim_matches('/')
                .to_string(),
        );
    }
    for key in ["tag", "heroku", "codedeploy"] {
        if spec.get_node(key).is_some() {
            unmapped.push(Note {
                line: key_line(spec, key),
                text: format!("deployment.{name}.{key}"),
                why: "CircleCI's own integration: declare a deploy trigger instead".into(),
            });
        }
    }
    if let Some(list) = spec.get_node("commands") {
        commands(file, list, &mut deploy.commands, unmapped)?;
    }
    Ok(deploy)
}
