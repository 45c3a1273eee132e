//! A pipeline for a project with a Dockerfile and no `slipway.toml`.

use std::collections::BTreeMap;
use std::path::Path;

use super::file::{DEFAULT_READY_INTERVAL, DEFAULT_READY_TIMEOUT};
use super::{
    BuildSpec, CleanupPolicy, ConfigError, HttpTarget, ImageRef, Pipeline, PipelineSource,
    PortMapping, Probe, Readiness, RunSpec, StatusRange,
};

/// Infers a pipeline from `root/Dockerfile`: the first TCP port it EXPOSEs is
/// published on a free host port and readiness is `GET /` on it.
pub fn infer(root: &Path) -> Result<Pipeline, ConfigError> {
    let dockerfile = root.join("Dockerfile");
    let text = std::fs::read_to_string(&dockerfile).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ConfigError::new(format!("{} has no Dockerfile and no {}", root.display(), super::FILE_NAME))
                .with_hint("Add a Dockerfile to the project, then run `slipway init` to write a pipeline file.")
        } else {
            ConfigError::new(format!("cannot read {}: {e}", dockerfile.display()))
        }
    })?;
    let port = exposed_ports(&text).into_iter().next();
    let name = super::default_name(root);
    let image = ImageRef {
        name: name.clone(),
        tag: "latest".into(),
    };
    Ok(Pipeline {
        project: name,
        root: root.to_path_buf(),
        source: PipelineSource::Inferred,
        push: super::PushSpec::default_for(&image),
        image,
        build: BuildSpec {
            dockerfile: "Dockerfile".into(),
            context: root.to_path_buf(),
            args: BTreeMap::new(),
            target: None,
            no_cache: false,
            builder: Default::default(),
        },
        run: RunSpec {
            ports: port
                .map(|p| PortMapping {
                    host_ip: "127.0.0.1".into(),
                    host_port: None,
                    container_port: p,
                })
                .into_iter()
                .collect(),
            env: BTreeMap::new(),
            secrets: BTreeMap::new(),
            command: None,
        },
        services: Vec::new(),
        ready: port.map(|container_port| Readiness {
            probe: Probe::Http {
                target: HttpTarget::Path {
                    container_port,
                    path: "/".into(),
                },
                status: StatusRange::SUCCESS,
            },
            timeout: DEFAULT_READY_TIMEOUT,
            interval: DEFAULT_READY_INTERVAL,
        }),
        tests: Vec::new(),
        cleanup: CleanupPolicy::Always,
        deploys: Vec::new(),
    })
}

/// The TCP ports a Dockerfile EXPOSEs, in order (`EXPOSE 80 443/tcp`; UDP
/// ports and unresolved `$VARS` are skipped).
pub fn exposed_ports(dockerfile: &str) -> Vec<u16> {
    let mut ports = Vec::new();
    let mut logical = String::new();
    for raw in dockerfile.lines() {
        let line = raw.trim();
        if logical.is_empty() && (line.starts_with('#') || line.is_empty()) {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            logical.push_str(head);
            logical.push(' ');
            continue;
        }
        logical.push_str(line);
        let mut words = logical.split_whitespace();
        if words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("EXPOSE"))
        {
            for word in words {
                let (port, proto) = word.split_once('/').unwrap_or((word, "tcp"));
                if proto.eq_ignore_ascii_case("tcp")
                    && let Ok(p) = port.parse::<u16>()
                {
                    ports.push(p);
                }
            }
        }
        logical.clear();
    }
    ports
}

/// The commented `slipway.toml` that `slipway init` writes for `pipeline`.
pub fn init_template(pipeline: &Pipeline) -> String {
    use super::toml_text::{TomlText, quote};
    let port = pipeline.run.ports.first().map(|p| p.container_port);
    let mut out = TomlText::default();
    out.push_str("# Slipway pipeline: build the image, run it, wait until it answers, test it.\n");
    out.push_str("# Reference: `slipway schema` prints the JSON Schema your editor can use.\n\n");
    out.push_str("# Remove containers: \"always\", \"on-success\" (keep failed ones to debug) or \"never\".\n");
    out.push_str("cleanup = \"always\"\n\n");
    out.push_str("[image]\n");
    out.push_str(&format!(
        "name = {}   # like `docker build -t NAME:TAG`\n",
        quote(&pipeline.image.name)
    ));
    out.push_str(&format!("tag = {}\n\n", quote(&pipeline.image.tag)));
    out.push_str("[build]\n");
    out.push_str("dockerfile = \"Dockerfile\"\n");
    out.push_str("context = \".\"        # files are filtered by .dockerignore\n");
    out.push_str("# target = \"test\"     # multi-stage target\n");
    out.push_str("# no-cache = false\n");
    out.push_str("# builder = \"auto\"     # BuildKit when the engine has it; or \"buildkit\", \"classic\"\n");
    out.push_str("# args = { VERSION = \"1.0\" }\n\n");
    out.push_str("[run]\n");
    match port {
        Some(p) => out.push_str(&format!(
            "# \"{p}\" publishes container port {p} on a free port of 127.0.0.1;\n# write \"8080:{p}\" for a fixed one, \"0.0.0.0:8080:{p}\" to listen on every interface.\nports = [\"{p}\"]\n"
        )),
        None => out.push_str("# The Dockerfile EXPOSEs no port. Publish one to probe and test over HTTP:\n# ports = [\"8080:80\"]\nports = []\n"),
    }
    out.push_str("# env = { MODE = \"test\" }\n");
    out.push_str("# command = \"overrides the image's CMD\"\n\n");
    match port {
        Some(_) => {
            out.push_str("[ready]\n");
            out.push_str("http = \"/\"           # or tcp = PORT, or a full URL\n");
            out.push_str("status = \"200-399\"\n");
            out.push_str("timeout = \"60s\"\n");
            out.push_str("interval = \"50ms\"     # longest wait between attempts\n\n");
        }
        None => out.push_str("# [ready]\n# http = \"/\"\n\n"),
    }
    out.push_str("# Test steps run in order once the service is ready.\n");
    out.push_str("# [[test]]\n");
    out.push_str("# name = \"unit tests\"\n");
    out.push_str("# run = \"python app/tests.py\"   # inside the container (docker exec)\n\n");
    out.push_str("# [[test]]\n");
    out.push_str("# name = \"smoke\"\n");
    out.push_str(
        "# in = \"host\"                    # SLIPWAY_URL, SLIPWAY_HOST, SLIPWAY_PORT are set\n",
    );
    out.push_str("# run = \"curl -fsS $SLIPWAY_URL/\"\n");
    out.push_str("# timeout = \"2m\"\n\n");
    out.push_str("# `slipway push` sends the built image to a registry (login with\n");
    out.push_str("# `slipway login registry HOST`, or the docker CLI's).\n");
    out.push_str("# [push]\n");
    out.push_str(&format!(
        "# repository = \"registry.example.com/{}\"   # default: the image name, on Docker Hub\n",
        pipeline.image.name
    ));
    out.push_str("# tags = [\"{branch}\", \"{sha}\"]      # {sha} is the short commit id\n");
    out.push_str("# latest = true                    # also `latest` from the default branch\n\n");
    out.push_str("# Deploy triggers. Secret parts live in the keychain, never here:\n");
    out.push_str(&format!(
        "# `slipway secret set deploy-trigger {}/hub` (the URL or command on stdin).\n",
        pipeline.project
    ));
    out.push_str("# [deploy.hub]\n");
    out.push_str(
        "# kind = \"dockerhub\"              # a Docker Hub build trigger: POST build=true\n",
    );
    out.push_str(
        "# branch = \"master\"               # default: the repository's default branch\n",
    );
    out.push_str("# [deploy.hook]\n");
    out.push_str("# kind = \"webhook\"                # any HTTP endpoint\n");
    out.push_str(
        "# url = \"https://deploy.example.com/hooks/app\"   # omit it to keep the URL secret\n",
    );
    out.push_str("# body = '{\"sha\": \"{sha}\", \"image\": \"{image}\"}'   # also {branch}, {tag}, {project}\n");
    out.push_str("# signature = \"X-Hub-Signature-256\"   # HMAC-SHA256 with `slipway secret set webhook-secret`\n");
    out.push_str("# [deploy.release]\n");
    out.push_str(
        "# kind = \"github-workflow\"        # workflow_dispatch, followed to its conclusion\n",
    );
    out.push_str("# workflow = \"deploy.yml\"\n");
    out.push_str("# inputs = { sha = \"{sha}\" }\n");
    out.push_str("# [deploy.script]\n");
    out.push_str("# kind = \"command\"                # a command on this machine\n");
    out.push_str(
        "# run = \"./deploy.sh\"             # omit it to keep the command itself secret\n",
    );
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exposed_tcp_ports() {
        let df = "FROM scratch\n# EXPOSE 1\nexpose 8080/tcp 53/udp \\\n  9090\nEXPOSE $PORT\n";
        assert_eq!(exposed_ports(df), vec![8080, 9090]);
    }

    #[test]
    fn inferred_pipeline_probes_root_on_exposed_port() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\nEXPOSE 80\n").unwrap();
        let p = super::super::load(dir.path()).unwrap();
        assert_eq!(p.source, PipelineSource::Inferred);
        assert_eq!(p.run.ports[0].container_port, 80);
        assert!(matches!(p.ready.unwrap().probe, Probe::Http { .. }));
    }

    #[test]
    fn template_round_trips_to_the_inferred_pipeline() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\nEXPOSE 80\n").unwrap();
        let inferred = super::super::load(dir.path()).unwrap();
        std::fs::write(dir.path().join("slipway.toml"), init_template(&inferred)).unwrap();
        let from_file = super::super::load(dir.path()).unwrap();
        assert_eq!(from_file.image, inferred.image);
        assert_eq!(from_file.run, inferred.run);
        assert_eq!(from_file.ready, inferred.ready);
    }

    #[test]
    fn missing_dockerfile_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let e = super::super::load(dir.path()).unwrap_err();
        assert!(e.message.contains("no Dockerfile"), "{e}");
        assert!(e.hint.unwrap().contains("slipway init"));
    }
}
