//! Property tests of every parser of user input: `slipway.toml`,
//! `.dockerignore`, Dockerfile scanning, CircleCI configs, and the docker
//! config and context files. None may panic, and every error in a file says
//! where. `PROPTEST_CASES` raises the number of cases (scripts/fuzz).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use proptest::prelude::*;
use slipway_core::config;
use slipway_core::dockerignore::IgnoreRules;

/// Values as they appear in slipway.toml, good and bad.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "\"[ -~]{0,12}\"".prop_map(|s| s.replace('\\', "")),
        Just("\"80\"".to_string()),
        Just("\"8080:80\"".to_string()),
        Just("\"/health\"".to_string()),
        Just("\"2xx\"".to_string()),
        Just("\"30s\"".to_string()),
        Just("\"host\"".to_string()),
        Just("\"dockerhub\"".to_string()),
        Just("\"{branch}-{sha}\"".to_string()),
        "-?[0-9]{1,7}",
        Just("true".to_string()),
        Just("[\"80\", \"x\"]".to_string()),
        Just("[]".to_string()),
        Just("{ A = \"1\" }".to_string()),
        "[ -~]{0,10}",
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("name"),
        Just("tag"),
        Just("ports"),
        Just("env"),
        Just("http"),
        Just("tcp"),
        Just("port"),
        Just("status"),
        Just("timeout"),
        Just("interval"),
        Just("run"),
        Just("in"),
        Just("cache"),
        Just("kind"),
        Just("branch"),
        Just("url"),
        Just("method"),
        Just("repository"),
        Just("tags"),
        Just("latest"),
        Just("dockerfile"),
        Just("context"),
        Just("cleanup"),
        Just("command"),
        Just("secrets"),
        Just("builder"),
        Just("signature"),
    ]
    .prop_map(str::to_string)
}

fn toml_line() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (key(), value()).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => prop_oneof![
            Just("[image]"), Just("[build]"), Just("[run]"), Just("[ready]"), Just("[[test]]"),
            Just("[push]"), Just("[deploy.hub]"), Just("[run.env]"), Just("[run.secrets]"),
        ]
        .prop_map(str::to_string),
        1 => "[ -~]{0,16}",
    ]
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

proptest! {
    #[test]
    fn slipway_toml_errors_point_into_the_file(lines in prop::collection::vec(toml_line(), 0..14)) {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Dockerfile", "FROM scratch\nEXPOSE 80\n");
        let text = lines.join("\n");
        write(dir.path(), config::FILE_NAME, &text);
        if let Err(e) = config::load_file(dir.path()) {
            let location = e.location.as_ref();
            prop_assert!(location.is_some(), "no position for {:?} in:\n{}", e.message, text);
            let line = location.unwrap().line;
            prop_assert!(line >= 1 && line <= text.lines().count().max(1), "line {} of:\n{}", line, text);
        }
    }

    #[test]
    fn dockerignore_errors_name_their_line(lines in prop::collection::vec("[ -~]{0,12}", 0..10), paths in prop::collection::vec("[a-z./*!\\[\\]-]{0,12}", 0..6)) {
        let text = lines.join("\n");
        match IgnoreRules::parse(&text) {
            Ok(rules) => {
                for path in &paths {
                    rules.is_ignored(path);
                    rules.must_descend(path);
                }
            }
            Err(e) => prop_assert!(e.line >= 1 && e.line <= lines.len(), "{e}"),
        }
    }

    #[test]
    fn dockerfile_scanning_never_panics(text in "(FROM|EXPOSE|ADD|COPY|RUN|ARG|#|\\\\|\n| |[ -~]){0,80}") {
        config::exposed_ports(&text);
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Dockerfile", &text);
        let _ = config::infer(dir.path());
    }

    #[test]
    fn circleci_errors_point_into_the_file(lines in prop::collection::vec(prop_oneof![
        Just("machine:".to_string()), Just("test:".to_string()), Just("  override:".to_string()),
        Just("    - docker build -t user/app .".to_string()), Just("    - docker run -d -p 80:80 user/app".to_string()),
        Just("deployment:".to_string()), Just("  hub:".to_string()), Just("    branch: master".to_string()),
        Just("version: 2".to_string()), Just("jobs:".to_string()), Just("  build:".to_string()),
        "[ -~]{0,16}",
    ], 0..12)) {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Dockerfile", "FROM scratch\n");
        let text = lines.join("\n");
        write(dir.path(), "circle.yml", &text);
        if let Err(e) = slipway_core::import::import(dir.path()) {
            prop_assert!(e.location.is_some(), "no position for {:?} in:\n{}", e.message, text);
        }
    }

    #[test]
    fn docker_config_and_contexts_never_panic(
        host in prop::option::of("(unix|tcp|ssh|http|https|npipe|)(://)?[ -~]{0,12}"),
        context in prop::option::of("[a-z-]{0,8}"),
        config in "[ -~]{0,40}",
        meta in "[ -~]{0,40}",
    ) {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "config.json", &config);
        if let Some(name) = &context {
            use sha2::Digest;
            let id = format!("{:x}", sha2::Sha256::digest(name.as_bytes()));
            let meta_dir = dir.path().join("contexts/meta").join(id);
            std::fs::create_dir_all(&meta_dir).unwrap();
            write(&meta_dir, "meta.json", &meta);
        }
        let dir_text = dir.path().display().to_string();
        let env = |name: &str| match name {
            "DOCKER_HOST" => host.clone(),
            "DOCKER_CONTEXT" => context.clone(),
            "DOCKER_CONFIG" => Some(dir_text.clone()),
            _ => None,
        };
        if let Err(e) = slipway_core::engine::Endpoint::resolve(&env) {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}
