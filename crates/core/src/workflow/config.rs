//! A CircleCI 2.x/2.1 config read as CircleCI reads it: pipeline values,
//! job and command parameters, executors, `when`/`unless`, matrix jobs and
//! inline orbs expanded; the workflow for a branch chosen, its jobs in
//! order with what each requires.

use std::collections::BTreeMap;
use std::path::Path;

use super::tree::{Spot, Y, substitute};
use crate::config::ConfigError;
use crate::import::circle2::{JOB_KEYS, TOP_KEYS};

/// The values `<< pipeline.* >>` stands for.
#[derive(Debug, Clone, Default)]
pub struct PipelineValues {
    /// The branch checked out, if any.
    pub branch: Option<String>,
    /// The commit.
    pub revision: String,
    /// The run's number.
    pub number: u64,
    /// The origin's URL.
    pub git_url: String,
    /// Pipeline parameters given for this run (`--parameter k=v`).
    pub parameters: Vec<(String, String)>,
}

/// What to run of the config.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// A workflow by name; else the first that runs on the branch.
    pub workflow: Option<String>,
    /// Only this job.
    pub job: Option<String>,
}

/// A job's executor.
#[derive(Debug, Clone, PartialEq)]
pub enum Executor {
    /// Docker images: the first is where steps run, the rest share its network.
    Docker(Vec<Image>),
    /// The host itself (`machine`), with its engine.
    Machine,
}

/// One image of a docker executor.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Image {
    /// `name:tag`.
    pub image: String,
    /// Its host name (secondary images), else from the image.
    pub name: Option<String>,
    /// Its container's environment.
    pub environment: Vec<(String, String)>,
    /// Replaces the image's entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// Replaces the image's command.
    pub command: Option<Vec<String>>,
    /// The user the container runs as.
    pub user: Option<String>,
}

/// When a step runs, given how the job has gone so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum When {
    /// Only while every earlier step passed.
    #[default]
    OnSuccess,
    /// Only once a step failed.
    OnFail,
    /// Whatever happened.
    Always,
}

/// One step of a job.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A shell command.
    Run {
        /// Shown name.
        name: String,
        /// The script.
        command: String,
        /// Its shell, when not the job's.
        shell: Option<String>,
        /// Its own variables.
        environment: Vec<(String, String)>,
        /// Where it runs, relative to the job's folder.
        working_directory: Option<String>,
        /// Left running while the next steps go.
        background: bool,
        /// When it runs.
        when: When,
        /// How long it may print nothing.
        no_output_timeout: std::time::Duration,
    },
    /// The project's files into the job's folder.
    Checkout {
        /// Where, when not the job's folder.
        path: Option<String>,
    },
    /// The job may use a Docker engine: the host's.
    SetupRemoteDocker,
    /// Keeps `paths` under the first `key`.
    SaveCache {
        /// The key template.
        key: String,
        /// What to keep.
        paths: Vec<String>,
        /// Shown name.
        name: String,
        /// When it runs.
        when: When,
    },
    /// Restores the first cache whose key matches one of `keys`.
    RestoreCache {
        /// Key templates, tried in order; each also as a prefix.
        keys: Vec<String>,
        /// Shown name.
        name: String,
    },
    /// Hands `paths` under `root` to the jobs after this one.
    PersistToWorkspace {
        /// The folder the paths are in.
        root: String,
        /// What to hand on.
        paths: Vec<String>,
    },
    /// Lays out what earlier jobs persisted.
    AttachWorkspace {
        /// Where.
        at: String,
    },
    /// Reads JUnit XML reports under `path`.
    StoreTestResults {
        /// A file or a folder.
        path: String,
    },
    /// Keeps `path` with the run.
    StoreArtifacts {
        /// A file or a folder.
        path: String,
        /// Its name among the artifacts.
        destination: Option<String>,
    },
    /// A step of an orb from CircleCI's registry, which cannot be
    /// fetched here: the plan refuses to run a job that has one.
    FromOrb {
        /// The step as written (`node/install`).
        name: String,
        /// The orb (`circleci/node@5.0`).
        orb: String,
        /// Its line in the config.
        line: usize,
    },
    /// A step Slipway has nothing to do for here (`add_ssh_keys`).
    Noted {
        /// Its name.
        name: String,
        /// Why it does nothing.
        why: String,
    },
}

impl Step {
    /// The step's name as CircleCI shows it.
    pub fn title(&self) -> String {
        match self {
            Step::Run { name, .. } => name.clone(),
            Step::Checkout { .. } => "Checkout code".into(),
            Step::SetupRemoteDocker => "Setup a remote Docker engine".into(),
            Step::SaveCache { name, .. } | Step::RestoreCache { name, .. } => name.clone(),
            Step::PersistToWorkspace { .. } => "Persisting to workspace".into(),
            Step::AttachWorkspace { .. } => "Attaching workspace".into(),
            Step::StoreTestResults { .. } => "Uploading test results".into(),
            Step::StoreArtifacts { .. } => "Uploading artifacts".into(),
            Step::Noted { name, .. } | Step::FromOrb { name, .. } => name.clone(),
        }
    }

    /// When it runs. Test results and artifacts are kept whatever happened.
    pub fn when(&self) -> When {
        match self {
            Step::Run { when, .. } | Step::SaveCache { when, .. } => *when,
            Step::StoreTestResults { .. } | Step::StoreArtifacts { .. } => When::Always,
            _ => When::OnSuccess,
        }
    }
}

/// A job ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Where its steps run.
    pub executor: Executor,
    /// Its folder (`~/project` by default).
    pub working_directory: String,
    /// Variables for every step.
    pub environment: Vec<(String, String)>,
    /// Its shell, when set.
    pub shell: Option<String>,
    /// Its steps.
    pub steps: Vec<Step>,
}

/// What a workflow's job is.
#[derive(Debug, Clone, PartialEq)]
pub enum JobKind {
    /// A job to run.
    Run(Box<Job>),
    /// `type: approval`: waits for a person.
    Approval,
    /// Not run on this branch: why.
    Filtered(String),
}

/// One job of the chosen workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowJob {
    /// Its name in the workflow (matrix jobs get their values appended).
    pub name: String,
    /// The jobs it waits for.
    pub requires: Vec<String>,
    /// Contexts whose variables it gets.
    pub context: Vec<String>,
    /// What it is.
    pub kind: JobKind,
}

/// The workflow to run, its jobs in an order where each comes after what
/// it requires.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowPlan {
    /// The workflow's name.
    pub name: String,
    /// Its jobs.
    pub jobs: Vec<WorkflowJob>,
    /// What to tell before it runs: other workflows, skipped requirements.
    pub notes: Vec<String>,
}

/// Keys of a workflow's job entry that are not job parameters.
const ENTRY: [&str; 9] = [
    "requires",
    "filters",
    "context",
    "name",
    "matrix",
    "type",
    "pre-steps",
    "post-steps",
    "serial-group",
];
/// How deep commands may call commands.
const MAX_DEPTH: usize = 20;
/// CircleCI's default for how long a step may print nothing.
const NO_OUTPUT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// The reusable parts: commands, executors and jobs, with inline orbs'
/// under `orb/name`; registry orbs by alias.
struct Parts {
    commands: BTreeMap<String, Y>,
    executors: BTreeMap<String, Y>,
    jobs: BTreeMap<String, Y>,
    registry_orbs: BTreeMap<String, String>,
}

/// Reads `text` (the contents of `file`) and plans the workflow `select`
/// asks for.
pub fn plan(
    file: &Path,
    text: &str,
    values: &PipelineValues,
    select: &Selection,
) -> Result<WorkflowPlan, ConfigError> {
    let spot = Spot { file };
    let top = crate::import::yaml::parse(file, text)?;
    let top = Y::from_node(&marked_yaml::Node::Mapping(top));
    spot.map(&top, "the CircleCI config")?;
    spot.known(&top, "the CircleCI config", &TOP_KEYS)?;
    let version = top.get("version").map(Y::to_text).unwrap_or_default();
    if !version.starts_with('2') {
        return Err(spot
            .error(
                top.get("version").map_or(1, Y::line),
                format!("CircleCI config version {version:?}: the workflow runner reads 2 and 2.1"),
            )
            .with_hint(
                "A CircleCI 1.0 project has circle.yml at its root: `slipway import` reads it.",
            ));
    }
    let top = pipeline_values(&spot, &top, values)?;
    let parts = parts(&spot, &top)?;
    let workflows = top.get("workflows");
    let branch = values.branch.clone().unwrap_or_default();

    // The workflow: named, else the first whose jobs run on this branch.
    let mut candidates: Vec<(String, &Y)> = Vec::new();
    if let Some(workflows) = workflows {
        for (name, workflow) in spot.map(workflows, "workflows")? {
            if name == "version" {
                continue;
            }
            candidates.push((name.clone(), workflow));
        }
    }
    let mut notes = Vec::new();
    let (name, entries): (String, Vec<Y>) = if candidates.is_empty() {
        // No workflows: CircleCI runs the job called `build`.
        if !parts.jobs.contains_key("build") && select.job.is_none() {
            return Err(spot
                .error(1, "the config has no workflows and no job called `build`")
                .with_hint("Add a workflow, or pass --job NAME."));
        }
        ("build".into(), vec![Y::Str("build".into(), 1)])
    } else if let Some(wanted) = &select.workflow {
        let Some((name, workflow)) = candidates.iter().find(|(n, _)| n == wanted) else {
            let names: Vec<&str> = candidates.iter().map(|(n, _)| n.as_str()).collect();
            return Err(
                ConfigError::new(format!("{} has no workflow {wanted:?}", file.display()))
                    .with_hint(format!("Its workflows: {}.", names.join(", "))),
            );
        };
        (name.clone(), workflow_jobs(&spot, workflow)?)
    } else {
        let mut chosen = None;
        let mut others = Vec::new();
        for (name, workflow) in &candidates {
            let runs = workflow_runs(&spot, workflow)?
                && workflow_jobs(&spot, workflow)?.iter().any(|entry| {
                    branch_filter(&spot, entry, &branch)
                        .ok()
                        .flatten()
                        .is_none()
                });
            match (runs, &chosen) {
                (true, None) => chosen = Some((name.clone(), workflow_jobs(&spot, workflow)?)),
                (true, Some(_)) => others.push(name.clone()),
                _ => {}
            }
        }
        let Some(chosen) = chosen else {
            return Err(ConfigError::new(format!(
                "no workflow of {} runs on branch {branch:?}",
                file.display()
            ))
            .with_hint("Pick one with --workflow NAME."));
        };
        if !others.is_empty() {
            notes.push(format!(
                "workflow {} runs; {} also match{} this branch (`--workflow` picks one)",
                chosen.0,
                others.join(", "),
                if others.len() == 1 { "es" } else { "" }
            ));
        }
        chosen
    };

    let mut jobs = Vec::new();
    for entry in &entries {
        jobs.extend(workflow_job(&spot, &parts, entry, &branch)?);
    }
    // `requires` may name a matrix job's alias: all its instances.
    let aliases: BTreeMap<String, Vec<String>> = entries
        .iter()
        .filter_map(|e| {
            let (job, args) = entry_parts(e);
            args.and_then(|a| a.get("matrix")).map(|m| {
                let alias = m
                    .get("alias")
                    .and_then(Y::as_str)
                    .map_or_else(|| job.to_string(), str::to_string);
                let instances = jobs
                    .iter()
                    .filter(|j| j.name.starts_with(&format!("{job}-")))
                    .map(|j| j.name.clone())
                    .collect();
                (alias, instances)
            })
        })
        .collect();
    for job in &mut jobs {
        job.requires = job
            .requires
            .iter()
            .flat_map(|r| aliases.get(r).cloned().unwrap_or_else(|| vec![r.clone()]))
            .collect();
    }
    for job in &jobs {
        for required in &job.requires {
            if !jobs.iter().any(|j| &j.name == required) {
                return Err(ConfigError::new(format!(
                    "job {} of workflow {name} requires {required:?}, which the workflow does not have",
                    job.name
                )));
            }
        }
    }
    let mut jobs = order(jobs, &name)?;
    // A job after one that does not run on this branch does not run either.
    for i in 0..jobs.len() {
        if matches!(jobs[i].kind, JobKind::Filtered(_)) {
            continue;
        }
        let blocked = jobs[i].requires.iter().find(|r| {
            jobs.iter()
                .any(|j| &j.name == *r && matches!(j.kind, JobKind::Filtered(_)))
        });
        if let Some(blocked) = blocked {
            jobs[i].kind =
                JobKind::Filtered(format!("it requires {blocked}, which does not run here"));
        }
    }

    if let Some(only) = &select.job {
        let index = match jobs.iter().position(|j| &j.name == only) {
            Some(i) => i,
            None => {
                // A job the workflow does not list, with its defaults.
                let entry = Y::Str(only.clone(), 1);
                if !parts.jobs.contains_key(only) {
                    let names: Vec<&String> = parts.jobs.keys().collect();
                    return Err(ConfigError::new(format!(
                        "{} has no job {only:?}",
                        file.display()
                    ))
                    .with_hint(format!(
                        "Its jobs: {}.",
                        names
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                jobs.extend(workflow_job(&spot, &parts, &entry, "")?);
                jobs.len() - 1
            }
        };
        let mut job = jobs.swap_remove(index);
        if let JobKind::Filtered(_) = job.kind {
            job.kind = workflow_job(&spot, &parts, &Y::Str(only.clone(), 1), "")?
                .remove(0)
                .kind;
        }
        if !job.requires.is_empty() {
            notes.push(format!(
                "--job {only}: skipped what it requires ({}); a workspace they would persist is not there",
                job.requires.join(", ")
            ));
        }
        job.requires.clear();
        jobs = vec![job];
    }
    registry_orbs_used(&spot, &jobs)?;
    Ok(WorkflowPlan { name, jobs, notes })
}

/// Substitutes `<< pipeline.* >>` everywhere.
fn pipeline_values(spot: &Spot, top: &Y, values: &PipelineValues) -> Result<Y, ConfigError> {
    let mut params: BTreeMap<String, Y> = BTreeMap::new();
    if let Some(declared) = top.get("parameters") {
        for (name, decl) in spot.map(declared, "parameters")? {
            if let Some(default) = decl.get("default") {
                params.insert(name.clone(), default.clone());
            }
        }
    }
    for (name, value) in &values.parameters {
        if top.get("parameters").and_then(|p| p.get(name)).is_none() {
            return Err(ConfigError::new(format!(
                "the config declares no pipeline parameter {name:?}"
            )));
        }
        params.insert(name.clone(), Y::Str(value.clone(), 1));
    }
    let lookup = |name: &str| -> Option<Y> {
        let text = |s: &str| Some(Y::Str(s.to_string(), 1));
        match name {
            "pipeline.git.branch" => text(values.branch.as_deref().unwrap_or("")),
            "pipeline.git.revision" => text(&values.revision),
            "pipeline.git.tag" => text(""),
            "pipeline.number" => text(&values.number.to_string()),
            "pipeline.id" => text(&format!("local-{}", values.number)),
            "pipeline.project.git_url" => text(&values.git_url),
            "pipeline.project.type" => text("github"),
            "pipeline.trigger_source" => text("local"),
            _ => name
                .strip_prefix("pipeline.parameters.")
                .and_then(|p| params.get(p).cloned()),
        }
    };
    substitute(spot, top, "pipeline.", &lookup)
}

fn parts(spot: &Spot, top: &Y) -> Result<Parts, ConfigError> {
    let mut parts = Parts {
        commands: BTreeMap::new(),
        executors: BTreeMap::new(),
        jobs: BTreeMap::new(),
        registry_orbs: BTreeMap::new(),
    };
    let mut collect = |from: &Y, prefix: &str| -> Result<(), ConfigError> {
        for (kind, map) in [
            ("commands", &mut parts.commands),
            ("executors", &mut parts.executors),
            ("jobs", &mut parts.jobs),
        ] {
            if let Some(defs) = from.get(kind) {
                for (name, def) in spot.map(defs, kind)? {
                    map.insert(format!("{prefix}{name}"), def.clone());
                }
            }
        }
        Ok(())
    };
    collect(top, "")?;
    if let Some(orbs) = top.get("orbs") {
        for (alias, orb) in spot.map(orbs, "orbs")? {
            match orb {
                Y::Str(reference, _) => {
                    parts.registry_orbs.insert(alias.clone(), reference.clone());
                }
                inline => collect(inline, &format!("{alias}/"))?,
            }
        }
    }
    Ok(parts)
}

/// Whether a 2.1 workflow's `when`/`unless` lets it run.
fn workflow_runs(spot: &Spot, workflow: &Y) -> Result<bool, ConfigError> {
    let when = workflow
        .get("when")
        .map(|c| condition(spot, c))
        .transpose()?;
    let unless = workflow
        .get("unless")
        .map(|c| condition(spot, c))
        .transpose()?;
    Ok(when.unwrap_or(true) && !unless.unwrap_or(false))
}

fn workflow_jobs(spot: &Spot, workflow: &Y) -> Result<Vec<Y>, ConfigError> {
    let Some(jobs) = workflow.get("jobs") else {
        return Err(spot.error(workflow.line(), "a workflow without jobs"));
    };
    Ok(jobs.items().into_iter().cloned().collect())
}

/// A logic statement: a value, or `and`, `or`, `not`, `equal`, `matches`.
pub(crate) fn condition(spot: &Spot, y: &Y) -> Result<bool, ConfigError> {
    let Y::Map(entries, line) = y else {
        return Ok(y.truthy());
    };
    let [(op, arg)] = entries.as_slice() else {
        return Err(spot.error(
            *line,
            "a condition has one operator (and, or, not, equal, matches)",
        ));
    };
    Ok(match op.as_str() {
        "and" => {
            let mut all = true;
            for item in arg.items() {
                all &= condition(spot, item)?;
            }
            all && !arg.items().is_empty()
        }
        "or" => {
            let mut any = false;
            for item in arg.items() {
                any |= condition(spot, item)?;
            }
            any
        }
        "not" => !condition(spot, arg)?,
        "equal" => {
            let items: Vec<String> = arg.items().iter().map(|i| i.to_text()).collect();
            !items.is_empty() && items.windows(2).all(|w| w[0] == w[1])
        }
        "matches" => {
            let pattern = arg.get("pattern").map(Y::to_text).unwrap_or_default();
            let value = arg.get("value").map(Y::to_text).unwrap_or_default();
            full_match(spot, *line, &pattern, &value)?
        }
        other => {
            return Err(spot
                .error(*line, format!("unknown condition operator `{other}`"))
                .with_hint("Use and, or, not, equal or matches."));
        }
    })
}

fn full_match(spot: &Spot, line: usize, pattern: &str, value: &str) -> Result<bool, ConfigError> {
    let pattern = pattern.trim_matches('/');
    let re = regex::Regex::new(&format!("^(?:{pattern})$"))
        .map_err(|e| spot.error(line, format!("bad pattern {pattern:?}: {e}")))?;
    Ok(re.is_match(value))
}

/// A workflow entry's job name and its arguments.
fn entry_parts(entry: &Y) -> (&str, Option<&Y>) {
    match entry {
        Y::Str(name, _) => (name, None),
        Y::Map(entries, _) => match entries.first() {
            Some((name, args)) => (name, Some(args)),
            None => ("", None),
        },
        Y::Seq(..) => ("", None),
    }
}

/// Why an entry does not run on `branch`, if it does not.
fn branch_filter(spot: &Spot, entry: &Y, branch: &str) -> Result<Option<String>, ConfigError> {
    let (_, args) = entry_parts(entry);
    let Some(branches) = args
        .and_then(|a| a.get("filters"))
        .and_then(|f| f.get("branches"))
    else {
        return Ok(None);
    };
    let matches = |list: &Y| -> Result<bool, ConfigError> {
        for item in list.items() {
            let pattern = item.to_text();
            let hit = if pattern.len() > 1 && pattern.starts_with('/') && pattern.ends_with('/') {
                full_match(spot, item.line(), &pattern, branch)?
            } else {
                pattern == branch
            };
            if hit {
                return Ok(true);
            }
        }
        Ok(false)
    };
    if let Some(only) = branches.get("only")
        && !matches(only)?
    {
        return Ok(Some(format!("only on {}", only.to_text())));
    }
    if let Some(ignore) = branches.get("ignore")
        && matches(ignore)?
    {
        return Ok(Some(format!("not on {branch}")));
    }
    Ok(None)
}

/// The jobs one workflow entry stands for (several for a matrix).
fn workflow_job(
    spot: &Spot,
    parts: &Parts,
    entry: &Y,
    branch: &str,
) -> Result<Vec<WorkflowJob>, ConfigError> {
    let (job, args) = entry_parts(entry);
    let line = entry.line();
    let empty = Y::Map(Vec::new(), line);
    let args = args.unwrap_or(&empty);
    let requires: Vec<String> = args
        .get("requires")
        .map(|r| r.items().iter().map(|i| i.to_text()).collect())
        .unwrap_or_default();
    let context: Vec<String> = args
        .get("context")
        .map(|c| c.items().iter().map(|i| i.to_text()).collect())
        .unwrap_or_default();
    let filtered = branch_filter(spot, entry, branch)?;
    let shown = args.get("name").map(Y::to_text);
    if args.get("type").and_then(Y::as_str) == Some("approval") {
        return Ok(vec![WorkflowJob {
            name: shown.unwrap_or_else(|| job.to_string()),
            requires,
            context,
            kind: filtered.map_or(JobKind::Approval, JobKind::Filtered),
        }]);
    }
    if let Some((alias, _)) = job.split_once('/')
        && let Some(reference) = parts.registry_orbs.get(alias)
    {
        return Err(registry_orb_error(
            spot,
            line,
            &[format!("job {job}")],
            alias,
            reference,
        ));
    }
    let Some(definition) = parts.jobs.get(job) else {
        return Err(spot
            .error(
                line,
                format!("the workflow runs job {job:?}, which jobs: does not define"),
            )
            .with_hint("Define it under jobs:, or fix the name."));
    };
    // Matrix: one job per combination of values, minus the excluded.
    let mut combinations: Vec<Vec<(String, Y)>> = vec![Vec::new()];
    if let Some(matrix) = args.get("matrix") {
        let Some(params) = matrix.get("parameters") else {
            return Err(spot.error(matrix.line(), "a matrix needs parameters"));
        };
        for (name, values) in spot.map(params, "matrix.parameters")? {
            combinations = combinations
                .into_iter()
                .flat_map(|c| {
                    values.items().into_iter().map(move |v| {
                        let mut c = c.clone();
                        c.push((name.clone(), v.clone()));
                        c
                    })
                })
                .collect();
        }
        if let Some(exclude) = matrix.get("exclude") {
            let excluded: Vec<Vec<(String, String)>> = exclude
                .items()
                .iter()
                .map(|e| {
                    e.entries()
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_text()))
                        .collect()
                })
                .collect();
            combinations.retain(|c| {
                !excluded.iter().any(|ex| {
                    ex.iter()
                        .all(|(k, v)| c.iter().any(|(ck, cv)| ck == k && &cv.to_text() == v))
                })
            });
        }
    }
    let matrix = args.get("matrix").is_some();
    let mut out = Vec::new();
    for combination in combinations {
        let mut given: Vec<(String, Y)> = args
            .entries()
            .iter()
            .filter(|(k, _)| !ENTRY.contains(&k.as_str()))
            .cloned()
            .collect();
        given.extend(combination.iter().cloned());
        let name = match (&shown, matrix) {
            (Some(n), _) => n.clone(),
            (None, true) => std::iter::once(job.to_string())
                .chain(combination.iter().map(|(_, v)| v.to_text()))
                .collect::<Vec<_>>()
                .join("-"),
            (None, false) => job.to_string(),
        };
        let kind = match &filtered {
            Some(why) => JobKind::Filtered(why.clone()),
            None => {
                let mut expanded = bind(spot, definition, &given, &format!("job {job}"), line)?;
                // pre-steps and post-steps wrap the job's own.
                for (key, front) in [("pre-steps", true), ("post-steps", false)] {
                    if let Some(extra) = args.get(key) {
                        add_steps(&mut expanded, extra, front);
                    }
                }
                JobKind::Run(Box::new(read_job(spot, parts, job, &expanded)?))
            }
        };
        out.push(WorkflowJob {
            name,
            requires: requires.clone(),
            context: context.clone(),
            kind,
        });
    }
    Ok(out)
}

fn add_steps(job: &mut Y, extra: &Y, front: bool) {
    let Y::Map(entries, line) = job else { return };
    let extra: Vec<Y> = extra.items().into_iter().cloned().collect();
    match entries.iter_mut().find(|(k, _)| k == "steps") {
        Some((_, Y::Seq(steps, _))) => {
            if front {
                steps.splice(0..0, extra);
            } else {
                steps.extend(extra);
            }
        }
        _ => entries.push(("steps".into(), Y::Seq(extra, *line))),
    }
}

/// `definition` with its `parameters` bound to `given` (or their
/// defaults) and substituted; its `parameters` key removed.
fn bind(
    spot: &Spot,
    definition: &Y,
    given: &[(String, Y)],
    what: &str,
    line: usize,
) -> Result<Y, ConfigError> {
    let mut values: BTreeMap<String, Y> = BTreeMap::new();
    let declared = definition.get("parameters");
    if let Some(declared) = declared {
        for (name, decl) in spot.map(declared, "parameters")? {
            if let Some(default) = decl.get("default") {
                values.insert(name.clone(), default.clone());
            }
        }
    }
    for (name, value) in given {
        let Some(decl) = declared.and_then(|d| d.get(name)) else {
            return Err(spot
                .error(value.line(), format!("{what} has no parameter {name:?}"))
                .with_hint(match declared {
                    Some(d) => format!(
                        "Its parameters: {}.",
                        d.entries()
                            .iter()
                            .map(|(k, _)| k.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    None => "It declares no parameters.".into(),
                }));
        };
        if let Some(Y::Seq(allowed, _)) = decl.get("enum")
            && !allowed.iter().any(|a| a.to_text() == value.to_text())
        {
            return Err(spot.error(
                value.line(),
                format!(
                    "{:?} is not one of {}'s values for {name}: {}",
                    value.to_text(),
                    what,
                    allowed
                        .iter()
                        .map(Y::to_text)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if decl.get("type").and_then(Y::as_str) == Some("boolean")
            && !matches!(value.to_text().as_str(), "true" | "false")
        {
            return Err(spot.error(
                value.line(),
                format!(
                    "{name} of {what} is a boolean: {:?} is not true or false",
                    value.to_text()
                ),
            ));
        }
        values.insert(name.clone(), value.clone());
    }
    if let Some(declared) = declared {
        for (name, _) in declared.entries() {
            if !values.contains_key(name) {
                return Err(spot.error(
                    line,
                    format!("{what} needs a value for its parameter {name}"),
                ));
            }
        }
    }
    let body = match definition {
        Y::Map(entries, l) => Y::Map(
            entries
                .iter()
                .filter(|(k, _)| k != "parameters")
                .cloned()
                .collect(),
            *l,
        ),
        other => other.clone(),
    };
    let lookup = |name: &str| -> Option<Y> {
        name.strip_prefix("parameters.")
            .or_else(|| name.strip_prefix("matrix."))
            .and_then(|p| values.get(p).cloned())
    };
    substitute(spot, &body, "parameters.", &lookup)
}

fn read_job(spot: &Spot, parts: &Parts, name: &str, job: &Y) -> Result<Job, ConfigError> {
    let what = format!("jobs.{name}");
    spot.map(job, &what)?;
    spot.known(job, &what, &JOB_KEYS)?;
    // The executor's keys first; the job's own win.
    let mut base = Y::Map(Vec::new(), job.line());
    if let Some(executor) = job.get("executor") {
        let (exec_name, args) = match executor {
            Y::Str(n, _) => (n.as_str(), Vec::new()),
            Y::Map(..) => {
                let n = executor.get("name").and_then(Y::as_str).unwrap_or("");
                let args = executor
                    .entries()
                    .iter()
                    .filter(|(k, _)| k != "name")
                    .cloned()
                    .collect();
                (n, args)
            }
            Y::Seq(..) => ("", Vec::new()),
        };
        if let Some((alias, _)) = exec_name.split_once('/')
            && let Some(reference) = parts.registry_orbs.get(alias)
        {
            return Err(registry_orb_error(
                spot,
                executor.line(),
                &[format!("executor {exec_name} of job {name}")],
                alias,
                reference,
            ));
        }
        let Some(definition) = parts.executors.get(exec_name) else {
            return Err(spot.error(
                executor.line(),
                format!("job {name} uses executor {exec_name:?}, which executors: does not define"),
            ));
        };
        base = bind(
            spot,
            definition,
            &args,
            &format!("executor {exec_name}"),
            executor.line(),
        )?;
    }
    let get = |key: &str| job.get(key).or_else(|| base.get(key));
    let executor = if let Some(docker) = get("docker") {
        let mut images = Vec::new();
        for item in docker.items() {
            let image = spot.text(
                item.get("image")
                    .ok_or_else(|| spot.error(item.line(), "a docker entry needs image:"))?,
                "image",
            )?;
            let argv = |key: &str| {
                item.get(key).map(|v| match v {
                    Y::Seq(items, _) => items.iter().map(Y::to_text).collect(),
                    other => shlex::split(&other.to_text()).unwrap_or_default(),
                })
            };
            images.push(Image {
                image: image.to_string(),
                name: item.get("name").map(Y::to_text),
                environment: item
                    .get("environment")
                    .map(|e| spot.env(e))
                    .transpose()?
                    .unwrap_or_default(),
                entrypoint: argv("entrypoint"),
                command: argv("command"),
                user: item.get("user").map(Y::to_text),
            });
        }
        if images.is_empty() {
            return Err(spot.error(
                docker.line(),
                format!("job {name}'s docker: lists no image"),
            ));
        }
        Executor::Docker(images)
    } else if get("machine").is_some() {
        Executor::Machine
    } else if let Some(macos) = get("macos") {
        return Err(spot
            .error(
                macos.line(),
                format!("job {name} runs on macOS, which this machine cannot run"),
            )
            .with_hint("Run another job with --job, or a workflow without it."));
    } else {
        return Err(spot.error(
            job.line(),
            format!("job {name} has no executor (docker, machine or executor)"),
        ));
    };
    let mut environment = Vec::new();
    for level in [base.get("environment"), job.get("environment")]
        .into_iter()
        .flatten()
    {
        environment.extend(spot.env(level)?);
    }
    let working_directory =
        get("working_directory").map_or_else(|| "~/project".to_string(), Y::to_text);
    let shell = get("shell").map(Y::to_text);
    let Some(steps_node) = job.get("steps") else {
        return Err(spot.error(job.line(), format!("job {name} has no steps")));
    };
    let mut steps = Vec::new();
    for step in steps_node.items() {
        read_step(spot, parts, step, &mut steps, 0)?;
    }
    Ok(Job {
        executor,
        working_directory,
        environment,
        shell,
        steps,
    })
}

fn when_of(spot: &Spot, y: &Y) -> Result<When, ConfigError> {
    match y.get("when").map(Y::to_text).as_deref() {
        None | Some("on_success") => Ok(When::OnSuccess),
        Some("on_fail") => Ok(When::OnFail),
        Some("always") => Ok(When::Always),
        Some(other) => Err(spot.error(
            y.get("when").map_or(y.line(), Y::line),
            format!("when: {other:?} is not on_success, on_fail or always"),
        )),
    }
}

fn read_step(
    spot: &Spot,
    parts: &Parts,
    y: &Y,
    out: &mut Vec<Step>,
    depth: usize,
) -> Result<(), ConfigError> {
    if depth > MAX_DEPTH {
        return Err(spot.error(
            y.line(),
            "commands call each other more than 20 deep (a loop?)",
        ));
    }
    let (kind, args) = match y {
        Y::Str(name, _) => (name.as_str(), None),
        Y::Map(entries, line) => match entries.as_slice() {
            [(name, args)] => (name.as_str(), Some(args)),
            _ => {
                return Err(spot.error(
                    *line,
                    "a step is one key: run, checkout, a command's name, …",
                ));
            }
        },
        Y::Seq(_, line) => return Err(spot.error(*line, "a step is a name or one key, not a list")),
    };
    let line = y.line();
    let text_of = |key: &str| args.and_then(|a| a.get(key)).map(Y::to_text);
    match kind {
        "run" => {
            let args = args.ok_or_else(|| spot.error(line, "run needs a command"))?;
            let (command, map) = match args {
                Y::Str(c, _) => (c.clone(), None),
                map => (
                    spot.text(
                        map.get("command")
                            .ok_or_else(|| spot.error(map.line(), "run needs command:"))?,
                        "command",
                    )?
                    .to_string(),
                    Some(map),
                ),
            };
            let get = |key: &str| map.and_then(|m| m.get(key));
            let no_output_timeout = match get("no_output_timeout") {
                Some(t) => circle_duration(&t.to_text()).ok_or_else(|| {
                    spot.error(
                        t.line(),
                        format!(
                            "no_output_timeout {:?} is not a duration like 10m or 30s",
                            t.to_text()
                        ),
                    )
                })?,
                None => NO_OUTPUT_TIMEOUT,
            };
            out.push(Step::Run {
                name: get("name").map_or_else(
                    || command.lines().next().unwrap_or("").trim().to_string(),
                    Y::to_text,
                ),
                command,
                shell: get("shell").map(Y::to_text),
                environment: get("environment")
                    .map(|e| spot.env(e))
                    .transpose()?
                    .unwrap_or_default(),
                working_directory: get("working_directory").map(Y::to_text),
                background: get("background").is_some_and(Y::truthy),
                when: map
                    .map(|m| when_of(spot, m))
                    .transpose()?
                    .unwrap_or_default(),
                no_output_timeout,
            });
        }
        "checkout" => out.push(Step::Checkout {
            path: text_of("path"),
        }),
        "setup_remote_docker" => out.push(Step::SetupRemoteDocker),
        "add_ssh_keys" => out.push(Step::Noted {
            name: "Add SSH keys".into(),
            why: "CircleCI's SSH keys are not here: the host's own ssh setup is used".into(),
        }),
        "save_cache" => {
            let args = args.ok_or_else(|| spot.error(line, "save_cache needs key and paths"))?;
            let key = text_of("key").ok_or_else(|| spot.error(line, "save_cache needs key:"))?;
            let paths = args
                .get("paths")
                .ok_or_else(|| spot.error(line, "save_cache needs paths:"))?
                .items()
                .iter()
                .map(|p| p.to_text())
                .collect();
            out.push(Step::SaveCache {
                name: text_of("name").unwrap_or_else(|| "Saving cache".into()),
                key,
                paths,
                when: when_of(spot, args)?,
            });
        }
        "restore_cache" => {
            let args = args.ok_or_else(|| spot.error(line, "restore_cache needs key or keys"))?;
            let mut keys: Vec<String> = Vec::new();
            if let Some(key) = args.get("key") {
                keys.push(key.to_text());
            }
            if let Some(list) = args.get("keys") {
                keys.extend(list.items().iter().map(|k| k.to_text()));
            }
            if keys.is_empty() {
                return Err(spot.error(line, "restore_cache needs key or keys"));
            }
            out.push(Step::RestoreCache {
                keys,
                name: text_of("name").unwrap_or_else(|| "Restoring cache".into()),
            });
        }
        "persist_to_workspace" => {
            let root = text_of("root")
                .ok_or_else(|| spot.error(line, "persist_to_workspace needs root:"))?;
            let paths = args
                .and_then(|a| a.get("paths"))
                .ok_or_else(|| spot.error(line, "persist_to_workspace needs paths:"))?
                .items()
                .iter()
                .map(|p| p.to_text())
                .collect();
            out.push(Step::PersistToWorkspace { root, paths });
        }
        "attach_workspace" => {
            let at = text_of("at").ok_or_else(|| spot.error(line, "attach_workspace needs at:"))?;
            out.push(Step::AttachWorkspace { at });
        }
        "store_test_results" => {
            let path = text_of("path")
                .ok_or_else(|| spot.error(line, "store_test_results needs path:"))?;
            out.push(Step::StoreTestResults { path });
        }
        "store_artifacts" => {
            let path =
                text_of("path").ok_or_else(|| spot.error(line, "store_artifacts needs path:"))?;
            out.push(Step::StoreArtifacts {
                path,
                destination: text_of("destination"),
            });
        }
        "when" | "unless" => {
            let args =
                args.ok_or_else(|| spot.error(line, format!("{kind} needs condition and steps")))?;
            let cond = args
                .get("condition")
                .ok_or_else(|| spot.error(line, format!("{kind} needs condition:")))?;
            let holds = condition(spot, cond)?;
            if holds == (kind == "when")
                && let Some(steps) = args.get("steps")
            {
                for step in steps.items() {
                    read_step(spot, parts, step, out, depth + 1)?;
                }
            }
        }
        name => {
            if let Some((alias, _)) = name.split_once('/')
                && let Some(reference) = parts.registry_orbs.get(alias)
            {
                out.push(Step::FromOrb {
                    name: name.to_string(),
                    orb: reference.clone(),
                    line,
                });
                return Ok(());
            }
            let Some(command) = parts.commands.get(name) else {
                return Err(spot
                    .error(line, format!("unknown step `{name}`"))
                    .with_hint("Define it under commands:, or use run, checkout, save_cache, restore_cache, persist_to_workspace, attach_workspace, store_test_results, store_artifacts, when or unless."));
            };
            let given: Vec<(String, Y)> = args.map(|a| a.entries().to_vec()).unwrap_or_default();
            let body = bind(spot, command, &given, &format!("command {name}"), line)?;
            let steps = body.get("steps").ok_or_else(|| {
                spot.error(command.line(), format!("command {name} has no steps"))
            })?;
            for step in steps.items() {
                read_step(spot, parts, step, out, depth + 1)?;
            }
        }
    }
    Ok(())
}

fn registry_orb_error(
    spot: &Spot,
    line: usize,
    uses: &[String],
    alias: &str,
    reference: &str,
) -> ConfigError {
    spot.error(
        line,
        format!(
            "{} comes from the orb {reference} ({alias}), which cannot be fetched here",
            uses.join(", ")
        ),
    )
    .with_hint(format!(
        "Inline it: `circleci orb source {reference}` prints its source; put it under orbs: {alias}: in the config."
    ))
}

/// Fails naming every step of the jobs to run that comes from a registry
/// orb, with its job and line.
fn registry_orbs_used(spot: &Spot, jobs: &[WorkflowJob]) -> Result<(), ConfigError> {
    let mut uses = Vec::new();
    let mut first = None;
    for job in jobs {
        let JobKind::Run(run) = &job.kind else {
            continue;
        };
        for step in &run.steps {
            if let Step::FromOrb { name, orb, line } = step {
                uses.push(format!(
                    "line {line}: step {name} of job {} (orb {orb})",
                    job.name
                ));
                first.get_or_insert((*line, orb.clone()));
            }
        }
    }
    let Some((line, orb)) = first else {
        return Ok(());
    };
    Err(spot
        .error(
            line,
            format!(
                "these steps come from orbs in CircleCI's registry, which cannot be fetched here:\n  {}",
                uses.join("\n  ")
            ),
        )
        .with_hint(format!(
            "Inline each orb: `circleci orb source {orb}` prints its source; put it under orbs: in the config, in place of the reference."
        )))
}

/// Jobs in an order where each follows what it requires; a cycle is an error.
fn order(mut jobs: Vec<WorkflowJob>, workflow: &str) -> Result<Vec<WorkflowJob>, ConfigError> {
    let mut out: Vec<WorkflowJob> = Vec::with_capacity(jobs.len());
    while !jobs.is_empty() {
        let ready = jobs
            .iter()
            .position(|j| j.requires.iter().all(|r| out.iter().any(|o| &o.name == r)));
        match ready {
            Some(i) => out.push(jobs.remove(i)),
            None => {
                let names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
                return Err(ConfigError::new(format!(
                    "the jobs {} of workflow {workflow} require each other in a loop",
                    names.join(", ")
                )));
            }
        }
    }
    Ok(out)
}

/// CircleCI's durations: `90s`, `10m`, `1h`, or seconds.
fn circle_duration(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number.parse().ok()?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return None,
    };
    Some(std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests;
