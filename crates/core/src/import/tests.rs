//! CircleCI snippets and the pipelines they import to.

use std::time::Duration;

use crate::config::{
    CommandLine, DeployKind, HttpTarget, Pipeline, PipelineSource, Probe, StepPlace,
};

use super::{CIRCLE_V1, CIRCLE_V2, Imported, import, pipeline};

/// A project with a Dockerfile and `config` as its CI file; its import and
/// pipeline.
fn imported(file: &str, config: &str) -> (Imported, Pipeline) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("shop");
    std::fs::create_dir_all(root.join(".circleci")).unwrap();
    std::fs::write(root.join("Dockerfile"), "FROM scratch\nEXPOSE 8000\n").unwrap();
    std::fs::write(root.join(file), config).unwrap();
    let imported = import(&root).unwrap().expect("a CI file");
    let pipeline = pipeline(&root, &imported).unwrap_or_else(|e| panic!("{e}\n{}", imported.toml));
    (imported, pipeline)
}

fn shell(p: &Pipeline) -> Vec<String> {
    p.tests
        .iter()
        .map(|t| {
            assert_eq!(t.place, StepPlace::Host);
            match &t.command {
                CommandLine::Shell(s) => s.clone(),
                CommandLine::Argv(a) => a.join(" "),
            }
        })
        .collect()
}

const CLASSIC: &str = "\
machine:
  services:
    - docker
dependencies:
  override:
    - docker info
    - docker build -t user/app .
test:
  override:
    - docker run -d -p 80:80 user/app; sleep 10
    - curl --retry 10 --retry-delay 5 -v http://localhost:80
    - pip install -r requirements.txt
    - python app/tests.py
deployment:
  hub:
    branch: master
    commands:
      - $DEPLOY
";

#[test]
fn the_classic_circle_yml() {
    let (imported, p) = imported(CIRCLE_V1, CLASSIC);
    assert_eq!(imported.version, "CircleCI 1.0");
    assert!(matches!(p.source, PipelineSource::Imported { .. }));
    assert_eq!(p.image.to_string(), "user/app:latest");
    assert_eq!(p.run.ports.len(), 1);
    assert_eq!(
        (p.run.ports[0].host_port, p.run.ports[0].container_port),
        (None, 80)
    );
    let ready = p.ready.as_ref().unwrap();
    assert_eq!(ready.timeout, Duration::from_secs(50));
    let Probe::Http { target, status } = &ready.probe else {
        panic!()
    };
    assert_eq!(
        target,
        &HttpTarget::Path {
            container_port: 80,
            path: "/".into()
        }
    );
    assert!(status.contains(500), "curl without -f takes any answer");
    assert_eq!(
        shell(&p),
        ["pip install -r requirements.txt", "python app/tests.py"]
    );
    assert_eq!(p.deploys.len(), 1);
    assert_eq!(
        (
            p.deploys[0].name.as_str(),
            p.deploys[0].kind,
            p.deploys[0].branch.as_deref(),
            &p.deploys[0].run
        ),
        ("hub", DeployKind::Command, Some("master"), &None)
    );
    assert_eq!(
        imported.secrets_to_set,
        ["slipway secret set deploy-trigger shop/hub   # the value of $DEPLOY"]
    );
    assert!(imported.unmapped.is_empty(), "{:?}", imported.unmapped);
    let skipped: Vec<(usize, &str)> = imported
        .skipped
        .iter()
        .map(|n| (n.line, n.text.as_str()))
        .collect();
    assert_eq!(skipped, [(2, "machine.services"), (6, "docker info")]);
    // Every part names its line.
    for line in [
        "circle.yml:7",
        "circle.yml:10",
        "circle.yml:11",
        "circle.yml:12",
        "circle.yml:13",
    ] {
        assert!(imported.toml.contains(line), "{line} in\n{}", imported.toml);
    }
}

#[test]
fn one_zero_variants() {
    // Flags, environment, pwd, a wget probe, a Docker Hub trigger, an until loop.
    let (imported, p) = imported(
        CIRCLE_V1,
        "\
machine:
  environment:
    MODE: ci
dependencies:
  pre:
    - docker build --tag=shop/web:ci -f Dockerfile --build-arg V=2 --target final .
test:
  pre:
    - docker run -d -p 8080:8000 -e DEBUG=1 shop/web:ci gunicorn app:app && sleep 5
    - until curl -sf http://127.0.0.1:8080/health; do sleep 1; done
  override:
    - curl -f http://localhost:8080/api:
        pwd: tests
    - ./check.sh:
        background: true
deployment:
  production:
    branch: release
    commands:
      - curl --data \"build=true\" -X POST https://registry.hub.docker.com/u/shop/web/trigger/abc123/
",
    );
    assert_eq!(p.image.to_string(), "shop/web:ci");
    assert_eq!(p.build.args.get("V").map(String::as_str), Some("2"));
    assert_eq!(p.build.target.as_deref(), Some("final"));
    assert_eq!(p.run.env.get("DEBUG").map(String::as_str), Some("1"));
    assert_eq!(
        p.run.command.as_deref(),
        Some(&["gunicorn".to_string(), "app:app".to_string()][..])
    );
    let ready = p.ready.as_ref().unwrap();
    assert_eq!(ready.timeout, Duration::from_secs(60));
    let Probe::Http { target, status } = &ready.probe else {
        panic!()
    };
    assert_eq!(
        target,
        &HttpTarget::Path {
            container_port: 8000,
            path: "/health".into()
        }
    );
    assert!(!status.contains(500), "-f fails on an error status");
    assert_eq!(
        shell(&p),
        ["cd tests && curl -f http://${SLIPWAY_HOST}:${SLIPWAY_PORT}/api"]
    );
    assert_eq!(p.tests[0].env.get("MODE").map(String::as_str), Some("ci"));
    assert_eq!(p.deploys[0].kind, DeployKind::Dockerhub);
    assert_eq!(p.deploys[0].branch.as_deref(), Some("release"));
    assert!(
        !imported.toml.contains("abc123"),
        "the trigger URL is a secret"
    );
    let unmapped: Vec<(usize, &str)> = imported
        .unmapped
        .iter()
        .map(|n| (n.line, n.text.as_str()))
        .collect();
    assert_eq!(unmapped, [(14, "./check.sh")]);
    assert!(imported.unmapped[0].why.contains("background"));
}

#[test]
fn what_cannot_be_mapped_is_listed_with_its_line() {
    let (imported, p) = imported(
        CIRCLE_V1,
        "\
test:
  override:
    - docker build -t a . && docker run -d a
    - docker run -d --network host -p 8000:8000 a
    - make test
",
    );
    let unmapped: Vec<(usize, &str)> = imported
        .unmapped
        .iter()
        .map(|n| (n.line, n.text.as_str()))
        .collect();
    assert_eq!(
        unmapped,
        [
            (3, "docker build -t a . && docker run -d a"),
            (4, "docker run -d --network host -p 8000:8000 a")
        ]
    );
    assert!(imported.toml.contains("# NOT IMPORTED"));
    // Each unmapped command can be kept by uncommenting it as a host step.
    let kept = imported
        .toml
        .replace("\n# [[test]]", "\n[[test]]")
        .replace("\n# run = ", "\nrun = ")
        .replace("\n# in = ", "\nin = ");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\nEXPOSE 8000\n").unwrap();
    let path = dir.path().join("slipway.toml");
    let with_kept = crate::config::parse_text(dir.path(), &path, &kept).unwrap();
    assert_eq!(with_kept.tests.len(), 3, "{kept}");
    // No run: the Dockerfile's EXPOSEd port is published, and the rest runs.
    assert_eq!(p.run.ports[0].container_port, 8000);
    assert_eq!(shell(&p), ["make test"]);
}

const TWO: &str = "\
version: 2
jobs:
  build:
    docker:
      - image: circleci/python:3.6
    working_directory: ~/repo
    environment:
      MODE: ci
    steps:
      - checkout
      - setup_remote_docker
      - run: docker build -t user/app .
      - run:
          name: Start the service
          command: |
            docker run -d -p 80:80 user/app
            sleep 10
      - run: curl --retry 10 --retry-delay 5 -v http://localhost:80
      - restore_cache:
          key: deps
      - run:
          name: Tests
          command: python app/tests.py
          environment:
            STRICT: \"1\"
          working_directory: app
  deploy:
    machine: true
    steps:
      - run: $DEPLOY
workflows:
  version: 2
  build-deploy:
    jobs:
      - build
      - deploy:
          requires: [build]
          filters:
            branches:
              only: master
";

#[test]
fn a_two_x_config() {
    let (imported, p) = imported(CIRCLE_V2, TWO);
    assert_eq!(imported.version, "CircleCI 2.x");
    assert!(
        imported
            .workflow_runner
            .as_deref()
            .is_some_and(|w| w.contains("its workflow has 2 jobs")),
        "{:?}",
        imported.workflow_runner
    );
    assert_eq!(p.image.to_string(), "user/app:latest");
    assert_eq!(p.run.ports[0].container_port, 80);
    assert!(p.ready.is_some());
    assert_eq!(shell(&p), ["cd app && python app/tests.py"]);
    assert_eq!(p.tests[0].env.get("MODE").map(String::as_str), Some("ci"));
    assert_eq!(p.tests[0].env.get("STRICT").map(String::as_str), Some("1"));
    assert_eq!(p.deploys[0].name, "deploy");
    assert_eq!(p.deploys[0].branch.as_deref(), Some("master"));
    let skipped: Vec<(usize, &str)> = imported
        .skipped
        .iter()
        .map(|n| (n.line, n.text.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            (10, "checkout"),
            (11, "setup_remote_docker"),
            (17, "sleep 10"),
            (19, "restore_cache")
        ]
    );
}

#[test]
fn orbs_and_conditions_are_listed() {
    let (imported, _) = imported(
        CIRCLE_V2,
        "\
version: 2.1
orbs:
  python: circleci/python@2
jobs:
  test:
    docker: [{image: cimg/base:stable}]
    steps:
      - python/install-packages
      - when:
          condition: true
          steps: [run: echo hi]
      - run: docker build -t t .
",
    );
    let unmapped: Vec<(usize, &str)> = imported
        .unmapped
        .iter()
        .map(|n| (n.line, n.text.as_str()))
        .collect();
    assert_eq!(
        unmapped,
        [(2, "orbs"), (8, "python/install-packages"), (9, "when")]
    );
    let why = imported.workflow_runner.unwrap();
    assert!(
        why.starts_with("3 of its lines are not imported: `slipway run`"),
        "{why}"
    );
}

fn error(file: &str, config: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join(".circleci")).unwrap();
    std::fs::write(root.join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(root.join(file), config).unwrap();
    let e = import(root).unwrap_err();
    assert!(e.hint.is_some(), "{e:?}");
    let shown = e.to_string();
    shown
        .strip_prefix(&format!("{}/", root.display()))
        .unwrap_or(&shown)
        .to_string()
}

#[test]
fn malformed_yaml_and_unknown_keys_give_their_position() {
    assert_eq!(
        error(CIRCLE_V1, "test:\n  override:\n    - make\n  oops: [\n"),
        "circle.yml:5:1: invalid YAML: while parsing a node, did not find expected node content"
    );
    assert_eq!(
        error(
            CIRCLE_V1,
            "machine:\n  services: [docker]\ntests:\n  override: [make]\n"
        ),
        "circle.yml:3:1: unknown key `tests` in circle.yml"
    );
    assert_eq!(
        error(
            CIRCLE_V2,
            "version: 2\njobs:\n  build:\n    step:\n      - run: make\n"
        ),
        ".circleci/config.yml:4:5: unknown key `step` in jobs.build"
    );
    assert_eq!(
        error(CIRCLE_V2, "version: 1\njobs: {}\n"),
        ".circleci/config.yml:1:10: CircleCI config version \"1\": Slipway reads 2 and 2.1"
    );
}

#[test]
fn a_two_x_jobs_secondary_images_are_services() {
    let config = "\
version: 2.1
jobs:
  test:
    docker:
      - image: cimg/python:3.12
      - image: circleci/postgres:9.6-alpine
        environment:
          POSTGRES_USER: root
          POSTGRES_DB: circle_test
      - image: redis:7
      - image: example/search-sidecar:2
    steps:
      - checkout
      - run: python -m pytest
";
    let (imported, p) = imported(CIRCLE_V2, config);
    let names: Vec<&str> = p.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["postgres", "redis", "search-sidecar"]);
    assert_eq!(p.services[0].image, "circleci/postgres:9.6-alpine");
    assert_eq!(p.services[0].env["POSTGRES_DB"], "circle_test");
    assert_eq!(p.services[0].ready, crate::config::ServiceReady::Tcp(5432));
    assert_eq!(p.services[1].ready, crate::config::ServiceReady::Tcp(6379));
    assert_eq!(p.services[2].ready, crate::config::ServiceReady::Started);
    assert!(
        imported.toml.contains(
            "# .circleci/config.yml:6: a secondary image; CircleCI serves it on localhost, here the app reaches it as postgres (host steps: $SLIPWAY_SERVICE_POSTGRES_HOST and _PORT)"
        ),
        "{}",
        imported.toml
    );
}

#[test]
fn a_one_oh_database_sections_clients_are_services() {
    let config = "\
database:
  override:
    - psql -U ubuntu -c 'CREATE DATABASE app_test'
    - echo set up
    - redis-cli ping
test:
  override:
    - python app/tests.py
";
    let (_, p) = imported(CIRCLE_V1, config);
    let services: Vec<(&str, Option<u16>)> = p
        .services
        .iter()
        .map(|s| (s.name.as_str(), s.port()))
        .collect();
    assert_eq!(services, [("postgres", Some(5432)), ("redis", Some(6379))]);
    assert!(
        shell(&p).iter().any(|c| c.contains("CREATE DATABASE")),
        "{:?}",
        shell(&p)
    );
}

#[test]
fn a_one_oh_machines_services_are_services_where_an_image_is_known() {
    let config = "\
machine:
  services:
    - docker
    - postgresql
    - redis
    - couchdb
test:
  override:
    - python app/tests.py
";
    let (imported, p) = imported(CIRCLE_V1, config);
    let services: Vec<(&str, &str)> = p
        .services
        .iter()
        .map(|s| (s.name.as_str(), s.image.as_str()))
        .collect();
    assert_eq!(services, [("postgres", "postgres"), ("redis", "redis")]);
    let unmapped: Vec<(usize, &str)> = imported
        .unmapped
        .iter()
        .map(|n| (n.line, n.text.as_str()))
        .collect();
    assert_eq!(unmapped, [(6, "machine.services: couchdb")]);
    assert!(
        imported
            .skipped
            .iter()
            .any(|n| n.text == "machine.services"),
        "docker is the engine Slipway uses"
    );
}
