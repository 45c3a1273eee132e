use super::*;

const CONFIG: &str = r#"version: 2.1
parameters:
  python:
    type: string
    default: "3.11"
orbs:
  tools:
    commands:
      hello:
        parameters:
          to: { type: string, default: world }
        steps:
          - run: echo hello << parameters.to >>
executors:
  py:
    parameters:
      tag: { type: string, default: << pipeline.parameters.python >> }
    docker:
      - image: local/python:<< parameters.tag >>
      - image: local/redis:7
        name: cache
    working_directory: ~/app
    environment:
      FROM_EXECUTOR: "1"
commands:
  install:
    parameters:
      extra: { type: steps, default: [] }
      verbose: { type: boolean, default: false }
    steps:
      - run: pip install -r requirements.txt
      - when:
          condition: << parameters.verbose >>
          steps:
            - run: pip list
      - << parameters.extra >>
jobs:
  build:
    executor: py
    steps:
      - checkout
      - install:
          verbose: true
          extra:
            - run: echo extra
      - tools/hello
      - save_cache:
          key: deps-{{ checksum "requirements.txt" }}
          paths: [~/.cache/pip]
      - persist_to_workspace: { root: ., paths: [dist] }
  test:
    parameters:
      suite: { type: enum, enum: [unit, lint], default: unit }
    executor: { name: py, tag: "3.12" }
    environment: { SUITE: << parameters.suite >> }
    steps:
      - attach_workspace: { at: ~/app }
      - run:
          name: test << parameters.suite >> on << pipeline.git.branch >>
          command: pytest --junitxml=reports/junit.xml
          no_output_timeout: 2m
      - store_test_results: { path: reports }
  deploy:
    machine: true
    steps:
      - run: ./deploy.sh
workflows:
  main:
    jobs:
      - build
      - test:
          matrix:
            parameters:
              suite: [unit, lint]
          requires: [build]
      - hold:
          type: approval
          requires: [test]
          filters: { branches: { only: master } }
      - deploy:
          requires: [hold]
"#;

fn values(branch: &str) -> PipelineValues {
    PipelineValues {
        branch: Some(branch.into()),
        revision: "abc".into(),
        number: 3,
        git_url: String::new(),
        parameters: Vec::new(),
    }
}

fn planned(text: &str, branch: &str, select: Selection) -> Result<WorkflowPlan, ConfigError> {
    plan(
        Path::new(".circleci/config.yml"),
        text,
        &values(branch),
        &select,
    )
}

fn job<'a>(plan: &'a WorkflowPlan, name: &str) -> &'a WorkflowJob {
    plan.jobs.iter().find(|j| j.name == name).unwrap()
}

fn run_job<'a>(plan: &'a WorkflowPlan, name: &str) -> &'a Job {
    match &job(plan, name).kind {
        JobKind::Run(job) => job,
        other => panic!("{name} is {other:?}"),
    }
}

fn commands(job: &Job) -> Vec<String> {
    job.steps
        .iter()
        .filter_map(|s| match s {
            Step::Run { command, .. } => Some(command.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn executors_commands_parameters_and_inline_orbs_expand() {
    let plan = planned(CONFIG, "feature", Selection::default()).unwrap();
    assert_eq!(plan.name, "main");
    let build = run_job(&plan, "build");
    let Executor::Docker(images) = &build.executor else {
        panic!("docker")
    };
    // The executor's parameter defaults to a pipeline parameter.
    assert_eq!(images[0].image, "local/python:3.11");
    assert_eq!(images[1].name.as_deref(), Some("cache"));
    assert_eq!(build.working_directory, "~/app");
    assert_eq!(
        build.environment,
        [("FROM_EXECUTOR".to_string(), "1".to_string())]
    );
    // A boolean parameter's `when`, a steps parameter spliced, an inline orb's command.
    assert_eq!(
        commands(build),
        [
            "pip install -r requirements.txt",
            "pip list",
            "echo extra",
            "echo hello world"
        ]
    );
    assert!(matches!(&build.steps[0], Step::Checkout { path: None }));
    assert!(
        matches!(&build.steps[5], Step::SaveCache { key, .. } if key == "deps-{{ checksum \"requirements.txt\" }}")
    );
}

#[test]
fn matrix_jobs_get_their_values_and_requires_names_them_all() {
    let plan = planned(CONFIG, "feature", Selection::default()).unwrap();
    let names: Vec<&str> = plan.jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, ["build", "test-unit", "test-lint", "hold", "deploy"]);
    let lint = run_job(&plan, "test-lint");
    let Executor::Docker(images) = &lint.executor else {
        panic!("docker")
    };
    assert_eq!(images[0].image, "local/python:3.12");
    assert!(lint.environment.contains(&("SUITE".into(), "lint".into())));
    let Step::Run {
        name,
        no_output_timeout,
        ..
    } = &lint.steps[1]
    else {
        panic!("run")
    };
    assert_eq!(name, "test lint on feature");
    assert_eq!(no_output_timeout.as_secs(), 120);
    assert_eq!(job(&plan, "hold").requires, ["test-unit", "test-lint"]);
    // The approval only runs on master; deploy after it does not run here either.
    assert!(matches!(job(&plan, "hold").kind, JobKind::Filtered(_)));
    assert!(
        matches!(job(&plan, "deploy").kind, JobKind::Filtered(ref why) if why.contains("hold"))
    );
    let on_master = planned(CONFIG, "master", Selection::default()).unwrap();
    assert_eq!(job(&on_master, "hold").kind, JobKind::Approval);
    assert_eq!(run_job(&on_master, "deploy").executor, Executor::Machine);
}

#[test]
fn one_job_runs_alone_and_says_what_it_skipped() {
    let plan = planned(
        CONFIG,
        "feature",
        Selection {
            job: Some("test-unit".into()),
            ..Selection::default()
        },
    )
    .unwrap();
    assert_eq!(plan.jobs.len(), 1);
    assert!(plan.jobs[0].requires.is_empty());
    assert!(plan.notes[0].contains("build"), "{:?}", plan.notes);
    let err = planned(
        CONFIG,
        "feature",
        Selection {
            job: Some("nope".into()),
            ..Selection::default()
        },
    )
    .unwrap_err();
    assert!(err.hint.unwrap().contains("build, deploy, test"));
}

#[test]
fn a_workflow_is_chosen_by_branch_or_by_name() {
    let text = r#"version: 2.1
jobs:
  a: { docker: [{image: x}], steps: [checkout] }
  b: { docker: [{image: x}], steps: [checkout] }
workflows:
  release:
    jobs:
      - a: { filters: { branches: { only: /release\/.*/ } } }
  everyday:
    jobs: [b]
  nightly:
    when: << pipeline.parameters.nope >>
    jobs: [a]
"#;
    assert!(planned(text, "main", Selection::default()).is_err());
    let text = text.replace(
        "  nightly:\n    when: << pipeline.parameters.nope >>\n    jobs: [a]\n",
        "",
    );
    assert_eq!(
        planned(&text, "main", Selection::default()).unwrap().name,
        "everyday"
    );
    let release = planned(&text, "release/1.2", Selection::default()).unwrap();
    assert_eq!(release.name, "release");
    assert!(release.notes[0].contains("everyday"), "{:?}", release.notes);
    let named = Selection {
        workflow: Some("everyday".into()),
        ..Selection::default()
    };
    assert_eq!(
        planned(&text, "release/1.2", named).unwrap().jobs[0].name,
        "b"
    );
    let missing = Selection {
        workflow: Some("weekly".into()),
        ..Selection::default()
    };
    let err = planned(&text, "main", missing).unwrap_err();
    assert!(err.hint.unwrap().contains("release, everyday"));
}

#[test]
fn registry_orbs_are_named_with_each_step_and_line() {
    let text = r#"version: 2.1
orbs:
  node: circleci/node@5.1.0
jobs:
  build:
    docker: [{image: x}]
    steps:
      - checkout
      - node/install-packages
      - run: npm test
      - node/install-yarn
workflows:
  main: { jobs: [build] }
"#;
    let err = planned(text, "main", Selection::default()).unwrap_err();
    let message = err.to_string();
    assert!(message.contains(".circleci/config.yml:9"), "{message}");
    assert!(
        message
            .contains("line 9: step node/install-packages of job build (orb circleci/node@5.1.0)"),
        "{message}"
    );
    assert!(
        message.contains("line 11: step node/install-yarn"),
        "{message}"
    );
    assert!(
        err.hint
            .unwrap()
            .contains("circleci orb source circleci/node@5.1.0")
    );
}

#[test]
fn mistakes_name_their_line() {
    let cases = [
        (
            "      - install:\n          nope: 1\n",
            "command install has no parameter \"nope\"",
            17,
        ),
        ("      - frobnicate\n", "unknown step `frobnicate`", 16),
        (
            "      - run:\n          command: x\n          when: sometimes\n",
            "not on_success",
            18,
        ),
    ];
    for (step, message, line) in cases {
        let text = format!(
            "version: 2.1\ncommands:\n  install:\n    parameters:\n      verbose: {{ type: boolean, default: false }}\n    steps: [checkout]\njobs:\n  build:\n    docker:\n      - image: x\n    parameters:\n      n: {{ type: string, default: a }}\n    environment: {{ A: b }}\n    working_directory: /w\n    steps:\n{step}workflows:\n  main: {{ jobs: [build] }}\n"
        );
        let err = planned(&text, "main", Selection::default()).unwrap_err();
        assert!(err.to_string().contains(message), "{err}");
        assert_eq!(err.location.as_ref().unwrap().line, line, "{err}");
    }
    let bad_enum = CONFIG.replace("suite: [unit, lint]", "suite: [unit, fuzz]");
    let err = planned(&bad_enum, "main", Selection::default()).unwrap_err();
    assert!(err.to_string().contains("\"fuzz\" is not one of"), "{err}");
    let cycle = "version: 2.1\njobs:\n  a: { docker: [{image: x}], steps: [checkout] }\n  b: { docker: [{image: x}], steps: [checkout] }\nworkflows:\n  w:\n    jobs:\n      - a: { requires: [b] }\n      - b: { requires: [a] }\n";
    let err = planned(cycle, "main", Selection::default()).unwrap_err();
    assert!(err.to_string().contains("in a loop"), "{err}");
    let v1 = "version: 1\njobs: {}\n";
    assert!(
        planned(v1, "main", Selection::default())
            .unwrap_err()
            .to_string()
            .contains("2 and 2.1")
    );
}

#[test]
fn conditions_follow_circleci_s_logic() {
    let spot = Spot {
        file: Path::new("c.yml"),
    };
    let y = |t: &str| Y::from_node(&marked_yaml::parse_yaml(0, t).unwrap());
    let cond = |t: &str| condition(&spot, y(t).get("c").unwrap()).unwrap();
    assert!(cond("c: { equal: [main, main] }"));
    assert!(!cond("c: { equal: [main, dev] }"));
    assert!(cond("c: { and: [true, { not: false }] }"));
    assert!(cond("c: { or: [false, yes] }"));
    assert!(cond(
        "c: { matches: { pattern: \"^rel.*$\", value: release } }"
    ));
    assert!(!cond("c: \"\""));
}
