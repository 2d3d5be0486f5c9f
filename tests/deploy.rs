//! Offline checks of `deploy/` (container image, compose, Kubernetes) and `docs/asyncapi.yaml`.
//!
//! No cluster and no Docker engine are needed. The structural tests here are the validator:
//! every YAML parses, every Kubernetes object is well formed, the workload has what production
//! needs (probes, resources, a grace period longer than the shutdown timeout, a non-root
//! security context, a stable per-pod transactional id), kustomizations name only files that
//! exist, compose's dependencies hang together and create every topic (the timeline stage's
//! with a compacted changelog as wide as the events topic), the Dockerfile has its stages, user,
//! health check and port, every `DATELINE_*` variable is a real configuration key, every `$ref`
//! of the AsyncAPI document resolves, and its timeline-entry example carries exactly the headers
//! the timeline stage writes.
//!
//! External validators run too when installed (`scripts/install-deps.sh` tries to install
//! them), and print a note when they are not: hadolint, kubernetes-validate (the Kubernetes
//! OpenAPI schemas, bundled: offline) on the kustomize-rendered manifests, check-jsonschema
//! with its bundled Compose Specification schema, and the AsyncAPI parser.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::Value;

use dateline::config::{Config, Overrides};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every document of a (possibly multi-document) YAML file, as JSON values.
fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .filter(|v| !v.is_null())
        .collect()
}

fn yaml(rel: &str) -> Value {
    let mut docs = yaml_docs(&root().join(rel));
    assert_eq!(docs.len(), 1, "{rel}: one document");
    docs.remove(0)
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn yaml_files(rel_dir: &str) -> Vec<PathBuf> {
    let mut all = Vec::new();
    files_under(&root().join(rel_dir), &mut all);
    all.retain(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
    all.sort();
    all
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {v:#}"))
}

fn at<'a>(v: &'a Value, pointer: &str) -> &'a Value {
    v.pointer(pointer)
        .unwrap_or_else(|| panic!("nothing at {pointer} in {v:#}"))
}

fn array<'a>(v: &'a Value, pointer: &str) -> &'a Vec<Value> {
    at(v, pointer)
        .as_array()
        .unwrap_or_else(|| panic!("{pointer} is not a list"))
}

fn config_file(rel: &str) -> Config {
    Config::from_toml(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Kubernetes quantities as the API reads them: `500m`, `2`, `256Mi`, `1Gi`.
fn quantity(q: &Value) -> f64 {
    let s = match q {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("not a quantity: {other}"),
    };
    let units = [
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
    ];
    for (suffix, factor) in units {
        if let Some(n) = s.strip_suffix(suffix) {
            return n.parse::<f64>().expect("quantity") * factor;
        }
    }
    if let Some(n) = s.strip_suffix('m') {
        return n.parse::<f64>().expect("quantity") / 1000.0;
    }
    s.parse().expect("quantity")
}

// ---------------------------------------------------------------------------------------------
// YAML in general

#[test]
fn every_yaml_file_under_deploy_and_docs_parses() {
    let mut files = yaml_files("deploy");
    files.extend(yaml_files("docs"));
    assert!(files.len() >= 9, "{files:?}");
    for f in files {
        assert!(!yaml_docs(&f).is_empty(), "{} is empty", f.display());
    }
}

#[test]
fn every_kubernetes_object_has_api_version_kind_and_name() {
    let mut seen = 0;
    for f in yaml_files("deploy/k8s") {
        for doc in yaml_docs(&f) {
            let file = f.display();
            for key in ["/apiVersion", "/kind"] {
                let value = doc.pointer(key).and_then(Value::as_str).unwrap_or_default();
                assert!(!value.is_empty(), "{file}: no {key}");
            }
            if str_at(&doc, "/kind") == "Kustomization" {
                continue;
            }
            let name = doc.pointer("/metadata/name").and_then(Value::as_str);
            assert!(
                name.is_some_and(|n| !n.is_empty()),
                "{file}: no metadata.name"
            );
            seen += 1;
        }
    }
    assert!(seen >= 5, "found only {seen} objects");
}

// ---------------------------------------------------------------------------------------------
// Kustomize

/// The files a kustomization reads, relative to its directory.
fn kustomization_inputs(k: &Value) -> Vec<String> {
    let mut inputs = Vec::new();
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    inputs.extend(strings(k.get("resources")));
    inputs.extend(strings(k.get("components")));
    inputs.extend(strings(k.get("patchesStrategicMerge")));
    for patch in k
        .get("patches")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(p) = patch.get("path").and_then(Value::as_str) {
            inputs.push(p.to_string());
        }
    }
    for generator in ["configMapGenerator", "secretGenerator"] {
        for g in k
            .get(generator)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for f in strings(g.get("files"))
                .into_iter()
                .chain(strings(g.get("envs")))
            {
                // `files` entries may be `key=path`.
                let path = f.split_once('=').map_or(f.as_str(), |(_, p)| p);
                inputs.push(path.to_string());
            }
        }
    }
    inputs
}

#[test]
fn kustomizations_name_only_existing_files_and_leave_none_out() {
    let kustomizations: Vec<PathBuf> = {
        let mut all = Vec::new();
        files_under(&root().join("deploy/k8s"), &mut all);
        all.retain(|p| p.file_name().is_some_and(|n| n == "kustomization.yaml"));
        all.sort();
        all
    };
    assert_eq!(kustomizations.len(), 2, "base and overlays/sasl-tls");
    for k in kustomizations {
        let dir = k.parent().unwrap();
        let doc = yaml_docs(&k).remove(0);
        assert_eq!(str_at(&doc, "/kind"), "Kustomization");
        let inputs = kustomization_inputs(&doc);
        assert!(!inputs.is_empty(), "{}", k.display());
        let mut used = BTreeSet::new();
        for input in &inputs {
            let path = dir.join(input);
            assert!(
                path.is_file() || path.join("kustomization.yaml").is_file(),
                "{}: {input} does not exist",
                k.display()
            );
            if path.is_file() {
                used.insert(path.canonicalize().unwrap());
            }
        }
        // Every manifest or config file beside it is used: nothing is silently left out.
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if path.is_dir() || name == "kustomization.yaml" {
                continue;
            }
            assert!(
                used.contains(&path.canonicalize().unwrap()),
                "{} is not listed in {}",
                path.display(),
                k.display()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The workload

fn statefulset() -> Value {
    yaml("deploy/k8s/base/statefulset.yaml")
}

fn container(workload: &Value) -> &Value {
    let containers = array(workload, "/spec/template/spec/containers");
    containers
        .iter()
        .find(|c| c["name"] == "dateline")
        .expect("a container named dateline")
}

#[test]
fn the_workload_is_a_statefulset_with_a_stable_transactional_id_per_pod() {
    let sts = statefulset();
    // Stable pod names are what make the transactional id stable: see the file's comment and
    // deploy/README.md.
    assert_eq!(str_at(&sts, "/kind"), "StatefulSet");
    let env = array(container(&sts), "/env");
    let txn = env
        .iter()
        .find(|e| e["name"] == "DATELINE_KAFKA__TRANSACTIONAL_ID")
        .expect("DATELINE_KAFKA__TRANSACTIONAL_ID is set");
    assert_eq!(
        str_at(txn, "/valueFrom/fieldRef/fieldPath"),
        "metadata.name"
    );
    // The input topic has 6 partitions (deploy/compose.yaml): more replicas would idle.
    let replicas = at(&sts, "/spec/replicas").as_u64().expect("replicas");
    assert!((1..=6).contains(&replicas), "replicas {replicas}");
    // The selector selects the pod template.
    let selector = at(&sts, "/spec/selector/matchLabels").as_object().unwrap();
    let labels = at(&sts, "/spec/template/metadata/labels")
        .as_object()
        .unwrap();
    for (k, v) in selector {
        assert_eq!(labels.get(k), Some(v), "selector label {k}");
    }
}

#[test]
fn the_workload_has_probes_resources_and_a_long_enough_grace_period() {
    let sts = statefulset();
    let c = container(&sts);
    let ports = array(c, "/ports");
    let http = ports
        .iter()
        .find(|p| p["containerPort"] == 9898)
        .expect("containerPort 9898");
    let port_name = str_at(http, "/name");
    for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
        let p = at(c, &format!("/{probe}"));
        assert_eq!(str_at(p, "/httpGet/path"), path, "{probe}");
        let port = at(p, "/httpGet/port");
        assert!(
            port == port_name || port == 9898,
            "{probe} port {port} is not the http port"
        );
    }
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            let q = quantity(at(c, &format!("/resources/{kind}/{resource}")));
            assert!(q > 0.0, "{kind}.{resource}");
        }
    }
    for resource in ["cpu", "memory"] {
        let request = quantity(at(c, &format!("/resources/requests/{resource}")));
        let limit = quantity(at(c, &format!("/resources/limits/{resource}")));
        assert!(request <= limit, "{resource}: request over limit");
    }
    // SIGKILL must not cut the graceful shutdown short, with any of the configs it may run.
    let grace_ms = 1000
        * at(&sts, "/spec/template/spec/terminationGracePeriodSeconds")
            .as_u64()
            .expect("terminationGracePeriodSeconds");
    for rel in [
        "config/default.toml",
        "deploy/k8s/base/config.toml",
        "deploy/k8s/overlays/sasl-tls/config.toml",
    ] {
        let timeout = config_file(rel).pipeline.shutdown_timeout_ms;
        assert!(
            grace_ms > timeout,
            "terminationGracePeriodSeconds ({grace_ms} ms) must exceed {rel}'s \
             pipeline.shutdown_timeout_ms ({timeout})"
        );
    }
}

#[test]
fn the_workload_runs_as_non_root_with_a_read_only_root() {
    let sts = statefulset();
    let pod = at(&sts, "/spec/template/spec/securityContext");
    assert_eq!(pod["runAsNonRoot"], true);
    let uid = pod["runAsUser"].as_u64().expect("runAsUser");
    assert_ne!(uid, 0);
    let c = container(&sts);
    let sc = at(c, "/securityContext");
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    // The image's user is the same numeric uid (deploy/Dockerfile).
    let docker = dockerfile();
    let user = docker.last_stage().last("USER").expect("USER");
    assert_eq!(user.split(':').next(), Some(uid.to_string().as_str()));
}

#[test]
fn the_config_is_mounted_from_the_generated_config_map() {
    let sts = statefulset();
    let c = container(&sts);
    let args: Vec<&str> = array(c, "/args").iter().filter_map(Value::as_str).collect();
    let config_arg = args
        .windows(2)
        .find(|w| w[0] == "--config")
        .map(|w| w[1])
        .expect("--config FILE");
    let mount = array(c, "/volumeMounts")
        .iter()
        .find(|m| config_arg.starts_with(str_at(m, "/mountPath")))
        .expect("the config file's directory is mounted");
    let volume_name = str_at(mount, "/name");
    let volume = array(&sts, "/spec/template/spec/volumes")
        .iter()
        .find(|v| v["name"] == volume_name)
        .expect("the mounted volume");
    let kustomization = yaml("deploy/k8s/base/kustomization.yaml");
    let generator = &array(&kustomization, "/configMapGenerator")[0];
    assert_eq!(
        str_at(volume, "/configMap/name"),
        str_at(generator, "/name")
    );
    let file = Path::new(config_arg).file_name().unwrap().to_str().unwrap();
    assert_eq!(
        array(generator, "/files")[0].as_str(),
        Some(file),
        "the generated ConfigMap holds {file}"
    );
}

#[test]
fn service_and_pdb_select_the_pods() {
    let sts = statefulset();
    let labels = at(&sts, "/spec/template/metadata/labels")
        .as_object()
        .unwrap();
    let svc = yaml("deploy/k8s/base/service.yaml");
    assert_eq!(str_at(&svc, "/kind"), "Service");
    assert_eq!(
        str_at(&sts, "/spec/serviceName"),
        str_at(&svc, "/metadata/name"),
        "the StatefulSet's governing service"
    );
    assert_eq!(str_at(&svc, "/spec/clusterIP"), "None", "headless");
    let ports = array(&svc, "/spec/ports");
    assert!(ports.iter().any(|p| p["port"] == 9898), "metrics port");
    let pdb = yaml("deploy/k8s/base/pdb.yaml");
    assert_eq!(str_at(&pdb, "/kind"), "PodDisruptionBudget");
    assert!(
        pdb.pointer("/spec/maxUnavailable").is_some()
            || pdb.pointer("/spec/minAvailable").is_some()
    );
    for selector in [
        at(&svc, "/spec/selector"),
        at(&pdb, "/spec/selector/matchLabels"),
    ] {
        for (k, v) in selector.as_object().unwrap() {
            assert_eq!(labels.get(k), Some(v), "selector label {k}");
        }
    }
}

#[test]
fn kubernetes_config_files_are_valid_dateline_configs() {
    let base = config_file("deploy/k8s/base/config.toml");
    assert_eq!(base.http.address.port(), 9898);
    assert!(
        base.http.address.ip().is_unspecified(),
        "probes come from outside the pod"
    );
    let sasl = config_file("deploy/k8s/overlays/sasl-tls/config.toml");
    let option = |key: &str| sasl.kafka.options.get(key).map(ToString::to_string);
    assert_eq!(option("security.protocol").as_deref(), Some("SASL_SSL"));
    assert!(option("sasl.mechanism").is_some_and(|m| m.starts_with("SCRAM-")));
    for key in ["sasl.username", "sasl.password"] {
        assert!(option(key).is_some(), "{key}");
    }
    // The CA file is where the overlay's patch mounts the CA secret.
    let ca = option("ssl.ca.location").expect("ssl.ca.location");
    let patch = yaml("deploy/k8s/overlays/sasl-tls/statefulset-sasl-tls.yaml");
    let mounts = array(container(&patch), "/volumeMounts");
    assert!(
        mounts
            .iter()
            .any(|m| ca.starts_with(&format!("{}/", str_at(m, "/mountPath")))),
        "{ca} is not under a mounted volume"
    );
    // Same topics and port as the base: the overlay changes only the connection.
    assert_eq!(sasl.topics, base.topics);
    assert_eq!(sasl.timelines, base.timelines);
    assert_eq!(sasl.http, base.http);
}

#[test]
fn the_sasl_tls_overlay_mounts_the_config_from_a_secret() {
    let k = yaml("deploy/k8s/overlays/sasl-tls/kustomization.yaml");
    let secret = &array(&k, "/secretGenerator")[0];
    let patch = yaml("deploy/k8s/overlays/sasl-tls/statefulset-sasl-tls.yaml");
    let volumes = array(&patch, "/spec/template/spec/volumes");
    let config = volumes
        .iter()
        .find(|v| v["name"] == "config")
        .expect("the config volume is patched");
    assert_eq!(
        str_at(config, "/secret/secretName"),
        str_at(secret, "/name")
    );
    assert!(
        config["configMap"].is_null(),
        "the ConfigMap source is removed"
    );
}

// ---------------------------------------------------------------------------------------------
// Environment variables

/// Applies `vars` over `file` and checks each variable reached the key it names (a misspelt
/// variable, e.g. with a single underscore, would otherwise be ignored silently).
fn assert_env_applies(context: &str, file: &str, vars: &[(String, String)]) {
    assert!(!vars.is_empty(), "{context}: no DATELINE_ variables");
    let config = Config::load_with_env(
        Some(&root().join(file)),
        vars.to_vec(),
        &Overrides::default(),
    )
    .unwrap_or_else(|e| panic!("{context}: {e}"));
    let effective = serde_json::to_value(&config).unwrap();
    for (name, value) in vars {
        let key = name
            .strip_prefix("DATELINE_")
            .unwrap_or_else(|| panic!("{context}: {name}"));
        assert!(
            key.contains("__"),
            "{context}: {name} names no section (use `__`)"
        );
        let pointer = format!("/{}", key.to_lowercase().replace("__", "/"));
        let got = effective
            .pointer(&pointer)
            .unwrap_or_else(|| panic!("{context}: {name} sets no key"));
        let got = got.as_str().map_or_else(|| got.to_string(), String::from);
        assert_eq!(&got, value, "{context}: {name}");
    }
}

fn dateline_vars(pairs: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    pairs
        .into_iter()
        .filter(|(k, _)| k.starts_with("DATELINE_"))
        .collect()
}

#[test]
fn every_dateline_variable_in_the_deployments_is_a_configuration_key() {
    // Kubernetes: a value, or the pod name.
    let sts = statefulset();
    let env = array(container(&sts), "/env").iter().map(|e| {
        let value = match e.get("value").and_then(Value::as_str) {
            Some(v) => v.to_string(),
            None => "dateline-7".to_string(), // what the fieldRef gives pod 7
        };
        (str_at(e, "/name").to_string(), value)
    });
    assert_env_applies(
        "statefulset.yaml",
        "deploy/k8s/base/config.toml",
        &dateline_vars(env),
    );
    // Compose.
    let compose = yaml("deploy/compose.yaml");
    let env = at(&compose, "/services/dateline/environment")
        .as_object()
        .expect("environment as a map")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("string values").to_string()));
    assert_env_applies("compose.yaml", "config/default.toml", &dateline_vars(env));
    // The image.
    let docker = dockerfile();
    let env = docker.last_stage().env();
    assert_env_applies("Dockerfile", "config/default.toml", &dateline_vars(env));
}

// ---------------------------------------------------------------------------------------------
// Compose

#[test]
fn compose_services_and_dependencies_are_consistent() {
    let compose = yaml("deploy/compose.yaml");
    let services = at(&compose, "/services").as_object().unwrap();
    for name in ["kafka", "topics", "dateline"] {
        assert!(services.contains_key(name), "service {name}");
    }
    for (name, service) in services {
        assert!(
            service.get("image").is_some() || service.get("build").is_some(),
            "{name}: image or build"
        );
        if let Some(deps) = service.get("depends_on").and_then(Value::as_object) {
            for (dep, how) in deps {
                assert!(
                    services.contains_key(dep),
                    "{name} depends on unknown {dep}"
                );
                assert_ne!(dep, name);
                let condition = how["condition"].as_str().unwrap_or("service_started");
                if condition == "service_healthy" {
                    assert!(
                        services[dep].get("healthcheck").is_some(),
                        "{name} waits for {dep} to be healthy, but it has no healthcheck"
                    );
                }
            }
        }
    }
    assert_eq!(
        str_at(&compose, "/services/kafka/image"),
        "apache/kafka:4.1.0"
    );
    assert_eq!(
        str_at(&compose, "/services/topics/image"),
        "apache/kafka:4.1.0"
    );
    assert_eq!(
        str_at(&compose, "/services/kafka/environment/KAFKA_PROCESS_ROLES"),
        "broker,controller",
        "KRaft, single node"
    );
    assert_eq!(
        str_at(&compose, "/services/topics/depends_on/kafka/condition"),
        "service_healthy"
    );
    assert_eq!(
        str_at(&compose, "/services/dateline/depends_on/topics/condition"),
        "service_completed_successfully"
    );
    assert_eq!(str_at(&compose, "/services/topics/restart"), "no");
    // The image builds from the repository root with deploy/Dockerfile.
    let deploy = root().join("deploy");
    let context = deploy.join(str_at(&compose, "/services/dateline/build/context"));
    assert_eq!(
        context.canonicalize().unwrap(),
        root().canonicalize().unwrap()
    );
    assert!(
        context
            .join(str_at(&compose, "/services/dateline/build/dockerfile"))
            .is_file()
    );
    // Bind mounts exist, and the config file is where the image's CMD reads it.
    let volumes = array(&compose, "/services/dateline/volumes");
    let mut mounted = BTreeMap::new();
    for v in volumes {
        let spec = v.as_str().expect("short volume syntax");
        let mut parts = spec.split(':');
        let (source, target) = (parts.next().unwrap(), parts.next().expect("target"));
        assert!(deploy.join(source).exists(), "{source} does not exist");
        mounted.insert(target.to_string(), deploy.join(source));
    }
    let config = mounted
        .get("/etc/dateline/config.toml")
        .expect("a config file mounted at /etc/dateline/config.toml");
    Config::from_toml(&std::fs::read_to_string(config).unwrap()).expect("a valid config");
    // Graceful stop: longer than the shutdown timeout.
    let grace = str_at(&compose, "/services/dateline/stop_grace_period");
    let grace_s: u64 = grace.trim_end_matches('s').parse().expect("seconds");
    assert!(
        grace_s * 1000
            > config_file("config/default.toml")
                .pipeline
                .shutdown_timeout_ms
    );
}

/// The `topics` job's kafka-topics.sh calls: topic name -> arguments.
fn compose_topics() -> BTreeMap<String, String> {
    let compose = yaml("deploy/compose.yaml");
    let script: String = array(&compose, "/services/topics/command")
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("\n")
        .replace("\\\n", " ");
    let mut topics = BTreeMap::new();
    for line in script.lines().filter(|l| l.contains("--create")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let name = words
            .windows(2)
            .find(|w| w[0] == "--topic")
            .map(|w| w[1].to_string())
            .expect("--topic");
        topics.insert(name, words.join(" "));
    }
    topics
}

#[test]
fn compose_creates_the_topics_dateline_uses() {
    let topics = compose_topics();
    let defaults = config_file("config/default.toml").topics;
    for (topic, partitions) in [(&defaults.input, 6), (&defaults.output, 6)] {
        let args = topics
            .get(topic.as_str())
            .unwrap_or_else(|| panic!("{topic} is not created"));
        assert!(
            args.contains(&format!("--partitions {partitions}")),
            "{args}"
        );
        assert!(args.contains("--if-not-exists"), "{args}");
    }
    let dlq = topics
        .get(&defaults.dlq_topic())
        .expect("the dead-letter topic is created");
    assert!(
        dlq.contains("--config retention.ms=1209600000"),
        "14 days: {dlq}"
    );
    // The timeline stage's topics, under the names the compose config gives them.
    let config = config_file("config/default.toml");
    let t = &config.timelines;
    let partitions = |topic: &str| -> &str {
        let args = topics
            .get(topic)
            .unwrap_or_else(|| panic!("{topic} is not created"));
        assert!(args.contains("--if-not-exists"), "{args}");
        let words: Vec<&str> = args.split_whitespace().collect();
        words
            .windows(2)
            .find(|w| w[0] == "--partitions")
            .map(|w| w[1])
            .unwrap_or_else(|| panic!("{topic}: no --partitions"))
    };
    let events = t.events_topic(&config.topics);
    let changelog = t.changelog_topic(&config.kafka);
    // The changelog is written to the partition with the events partition's number: dateline
    // refuses to start when the counts differ.
    assert_eq!(partitions(&events), partitions(&changelog));
    let late = t.late_topic();
    for topic in [&events, &t.output, &late] {
        partitions(topic);
        assert!(!topics[topic.as_str()].contains("compact"), "{topic}");
    }
    assert!(
        topics[changelog.as_str()].contains("--config cleanup.policy=compact"),
        "{changelog}: compacted"
    );
    // The AsyncAPI document describes every topic created here.
    let asyncapi = yaml("docs/asyncapi.yaml");
    let addresses: BTreeSet<&str> = at(&asyncapi, "/channels")
        .as_object()
        .unwrap()
        .values()
        .map(|c| str_at(c, "/address"))
        .collect();
    for topic in topics.keys() {
        assert!(
            addresses.contains(topic.as_str()),
            "{topic} missing from docs/asyncapi.yaml"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Dockerfile

/// One instruction: its keyword (upper case) and its arguments, continuation lines joined.
struct Instruction {
    keyword: String,
    args: String,
}

struct Stage {
    base: String,
    name: Option<String>,
    instructions: Vec<Instruction>,
}

impl Stage {
    fn all(&self, keyword: &str) -> impl Iterator<Item = &str> {
        self.instructions
            .iter()
            .filter(move |i| i.keyword == keyword)
            .map(|i| i.args.as_str())
    }

    fn last(&self, keyword: &str) -> Option<&str> {
        self.all(keyword).last()
    }

    /// `ENV` pairs (`KEY=value` form, several per instruction).
    fn env(&self) -> Vec<(String, String)> {
        self.all("ENV")
            .flat_map(|args| args.split_whitespace())
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
            .collect()
    }
}

struct Dockerfile {
    stages: Vec<Stage>,
}

impl Dockerfile {
    fn last_stage(&self) -> &Stage {
        self.stages.last().expect("a FROM")
    }
}

fn parse_dockerfile(text: &str) -> Dockerfile {
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        // Comments (and parser directives) are dropped, also inside continuations.
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            logical.push(std::mem::take(&mut current));
        }
    }
    assert!(
        current.trim().is_empty(),
        "dangling continuation: {current}"
    );
    let mut stages: Vec<Stage> = Vec::new();
    for line in logical {
        let (keyword, args) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let keyword = keyword.to_uppercase();
        let args = args.trim().to_string();
        if keyword == "FROM" {
            let words: Vec<&str> = args.split_whitespace().collect();
            let base = words.first().expect("FROM image").to_string();
            let name = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some(name.to_string()),
                [_] => None,
                other => panic!("unexpected FROM {other:?}"),
            };
            stages.push(Stage {
                base,
                name,
                instructions: Vec::new(),
            });
        } else {
            let stage = stages
                .last_mut()
                .unwrap_or_else(|| panic!("{keyword} before FROM"));
            stage.instructions.push(Instruction { keyword, args });
        }
    }
    Dockerfile { stages }
}

fn dockerfile() -> Dockerfile {
    parse_dockerfile(&read("deploy/Dockerfile"))
}

#[test]
fn dockerfile_is_multi_stage_non_root_and_healthchecked() {
    let d = dockerfile();
    assert_eq!(d.stages.len(), 2, "builder and runtime");
    let builder = &d.stages[0];
    assert!(
        builder.base.starts_with("rust:1-bookworm"),
        "{}",
        builder.base
    );
    let builder_name = builder.name.as_deref().expect("the builder stage is named");
    let runtime = d.last_stage();
    assert_eq!(runtime.base, "debian:bookworm-slim");
    // The runtime takes only the binary from the builder.
    let from_builder: Vec<&str> = runtime
        .all("COPY")
        .filter(|a| a.starts_with("--from="))
        .collect();
    assert_eq!(from_builder.len(), 1, "{from_builder:?}");
    assert!(from_builder[0].starts_with(&format!("--from={builder_name} ")));
    let build = builder.all("RUN").collect::<Vec<_>>().join("\n");
    assert!(build.contains("cargo build --release --locked"), "{build}");
    assert!(build.contains("cmake"), "rdkafka's build tools: {build}");
    // Non-root.
    let user = runtime.last("USER").expect("USER in the runtime stage");
    let uid = user.split(':').next().unwrap();
    assert!(uid != "0" && uid != "root", "USER {user}");
    assert!(
        uid.parse::<u32>().is_ok(),
        "a numeric uid, for runAsNonRoot: {user}"
    );
    // Health check on /healthz with a client the image has.
    let health = runtime.last("HEALTHCHECK").expect("HEALTHCHECK");
    assert!(health.contains("/healthz"), "{health}");
    let installs = runtime.all("RUN").collect::<Vec<_>>().join("\n");
    assert!(
        health.contains("curl") && installs.contains("curl"),
        "curl is installed"
    );
    // Port and endpoint address agree.
    assert_eq!(runtime.last("EXPOSE"), Some("9898"));
    let env: BTreeMap<String, String> = runtime.env().into_iter().collect();
    assert_eq!(
        env.get("DATELINE_HTTP__ADDRESS").map(String::as_str),
        Some("0.0.0.0:9898")
    );
    assert!(health.contains("127.0.0.1:9898"), "{health}");
    // The binary runs `run` with the mounted config file.
    let entrypoint: Vec<String> =
        serde_json::from_str(runtime.last("ENTRYPOINT").expect("ENTRYPOINT")).expect("exec form");
    assert!(entrypoint[0].ends_with("/dateline"), "{entrypoint:?}");
    let cmd: Vec<String> =
        serde_json::from_str(runtime.last("CMD").expect("CMD")).expect("exec form");
    assert_eq!(cmd, ["run", "--config", "/etc/dateline/config.toml"]);
    let copies: Vec<&str> = runtime.all("COPY").collect();
    assert!(
        copies
            .iter()
            .any(|c| c.ends_with(" /etc/dateline/config.toml")),
        "a default config file at the path CMD reads: {copies:?}"
    );
}

#[test]
fn dockerfile_copies_only_what_dockerignore_lets_in() {
    let ignore = read(".dockerignore");
    let lines: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(
        lines.first(),
        Some(&"*"),
        "an allow-list: everything out first"
    );
    let allowed: Vec<&str> = lines[1..]
        .iter()
        .map(|l| {
            l.strip_prefix('!')
                .unwrap_or_else(|| panic!("{l}"))
                .trim_end_matches('/')
        })
        .collect();
    assert!(!allowed.contains(&"target"));
    let d = dockerfile();
    let mut checked = 0;
    for stage in &d.stages {
        for copy in stage.all("COPY").filter(|c| !c.starts_with("--")) {
            let words: Vec<&str> = copy.split_whitespace().collect();
            for source in &words[..words.len() - 1] {
                let source = source.trim_end_matches('/');
                assert!(root().join(source).exists(), "COPY {source}: no such file");
                assert!(
                    allowed
                        .iter()
                        .any(|a| source == *a || source.starts_with(&format!("{a}/"))),
                    "COPY {source} is excluded by .dockerignore"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 5, "{checked}");
}

#[test]
fn the_dockerfile_parser_sees_continuations_and_comments() {
    let d = parse_dockerfile(
        "# syntax=docker/dockerfile:1\nFROM a AS b\nRUN x \\\n  # note\n  && y\nFROM c\nUSER 1\n",
    );
    assert_eq!(d.stages.len(), 2);
    assert_eq!(d.stages[0].name.as_deref(), Some("b"));
    assert_eq!(d.stages[0].last("RUN"), Some("x  && y"));
    assert_eq!(d.last_stage().last("USER"), Some("1"));
}

// ---------------------------------------------------------------------------------------------
// AsyncAPI

fn collect_refs(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == "$ref" {
                    if let Some(r) = child.as_str() {
                        out.push((path.to_string(), r.to_string()));
                    }
                } else {
                    collect_refs(child, &format!("{path}/{k}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_refs(child, &format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn asyncapi_parses_and_every_ref_resolves() {
    let doc = yaml("docs/asyncapi.yaml");
    assert!(str_at(&doc, "/asyncapi").starts_with("3."), "AsyncAPI 3");
    let mut refs = Vec::new();
    collect_refs(&doc, "", &mut refs);
    assert!(refs.len() >= 15, "{refs:?}");
    let mut files = BTreeSet::new();
    for (at_path, r) in &refs {
        let (file, fragment) = r.split_once('#').unwrap_or((r.as_str(), ""));
        let target = if file.is_empty() {
            doc.clone()
        } else {
            let path = root().join("docs").join(file);
            assert!(path.is_file(), "{at_path}: $ref {r}: no such file");
            files.insert(file.to_string());
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{r}: {e}"))
        };
        assert!(
            target.pointer(fragment).is_some(),
            "{at_path}: $ref {r} points at nothing"
        );
    }
    // Every published contract is referenced.
    for (_, file, _) in dateline::schemas::all() {
        assert!(
            files.contains(&format!("./schemas/{file}")),
            "{file} unused"
        );
    }
}

#[test]
fn asyncapi_describes_every_topic_dateline_uses() {
    let doc = yaml("docs/asyncapi.yaml");
    let channels = at(&doc, "/channels").as_object().unwrap();
    let tagged = |tag: &str| -> BTreeSet<&str> {
        channels
            .values()
            .filter(|c| array(c, "/tags").iter().any(|t| t["name"] == tag))
            .map(|c| str_at(c, "/address"))
            .collect()
    };
    // Every channel is live, at the default address of a topic dateline reads or writes.
    let config = config_file("config/default.toml");
    let (topics, t) = (&config.topics, &config.timelines);
    let events = t.events_topic(topics);
    let changelog = t.changelog_topic(&config.kafka);
    let want_live: BTreeSet<String> = [
        topics.input.clone(),
        topics.output.clone(),
        topics.dlq_topic(),
        events.clone(),
        changelog.clone(),
        t.output.clone(),
        t.late_topic(),
    ]
    .into();
    let live = tagged("live");
    assert_eq!(live, want_live.iter().map(String::as_str).collect());
    assert_eq!(live.len(), channels.len(), "every channel is tagged live");
    // Subscribers are told which topics are not theirs.
    assert_eq!(
        tagged("internal"),
        BTreeSet::from([events.as_str(), changelog.as_str()])
    );
    assert!(tagged("planned").is_empty(), "the timeline stage is live");
    // Every channel is used by an operation.
    let used: BTreeSet<&str> = at(&doc, "/operations")
        .as_object()
        .unwrap()
        .values()
        .map(|o| str_at(o, "/channel/$ref"))
        .collect();
    for name in channels.keys() {
        assert!(
            used.contains(format!("#/channels/{name}").as_str()),
            "{name}: no operation"
        );
    }
    // The output headers match what the sink writes: the CloudEvents ones among them.
    let required: BTreeSet<&str> =
        array(&doc, "/components/schemas/timelineRecordHeaders/required")
            .iter()
            .filter_map(Value::as_str)
            .collect();
    for h in [
        "ce_specversion",
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_time",
        "schema-version",
    ] {
        assert!(required.contains(h), "{h}");
    }
    assert_eq!(
        str_at(
            &doc,
            "/components/schemas/timelineRecordHeaders/properties/ce_type/const"
        ),
        dateline::pipeline::sink::CE_TYPE
    );
    asyncapi_entry_example_is_what_the_timeline_stage_writes(&doc);
}

/// The timeline entry's example is a valid entry, and its headers are exactly those the
/// timeline stage writes for it: every one documented and required, with the same values.
fn asyncapi_entry_example_is_what_the_timeline_stage_writes(doc: &Value) {
    use rdkafka::message::Headers;

    let message = at(doc, "/components/messages/timelineEntry");
    assert_eq!(
        str_at(message, "/payload/$ref"),
        "./schemas/timeline-entry.schema.json"
    );
    let example = &array(message, "/examples")[0];
    let payload = at(example, "/payload");
    let schema: Value =
        serde_json::from_str(&read("docs/schemas/timeline-entry.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(payload)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let entry: dateline::timeline::TimelineEntry =
        serde_json::from_value(payload.clone()).expect("the example is a TimelineEntry");
    let time = str_at(example, "/headers/ce_time");
    let written: BTreeMap<String, String> =
        dateline::pipeline::timelines::entry_headers(&entry, time)
            .iter()
            .map(|h| {
                let value = String::from_utf8(h.value.unwrap_or_default().to_vec()).unwrap();
                (h.key.to_string(), value)
            })
            .collect();
    let documented: BTreeMap<String, String> = at(example, "/headers")
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("string headers").to_string()))
        .collect();
    assert_eq!(written, documented, "example headers vs entry_headers()");
    let headers = at(doc, "/components/schemas/timelineEntryHeaders");
    let required: BTreeSet<&str> = array(headers, "/required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let properties: BTreeSet<&str> = at(headers, "/properties")
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let names: BTreeSet<&str> = written.keys().map(String::as_str).collect();
    assert_eq!(required, names);
    assert_eq!(properties, names);
    assert_eq!(
        str_at(headers, "/properties/ce_type/const"),
        dateline::pipeline::timelines::CE_TYPE
    );
}

// ---------------------------------------------------------------------------------------------
// External validators: run when installed, reported either way.

/// Runs `program args`, or returns `None` (with a note) when it is not installed.
fn run_tool(program: &str, args: &[&str]) -> Option<std::process::Output> {
    match Command::new(program)
        .args(args)
        .current_dir(root())
        .output()
    {
        Ok(out) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("NOTE: {program} is not installed (scripts/install-deps.sh); check skipped");
            None
        }
        Err(e) => panic!("running {program}: {e}"),
    }
}

fn assert_success(what: &str, out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{what}: passed");
}

#[test]
fn hadolint_passes_when_installed() {
    if let Some(out) = run_tool("hadolint", &["deploy/Dockerfile"]) {
        assert_success("hadolint deploy/Dockerfile", &out);
    }
}

#[test]
fn compose_matches_the_compose_specification_when_check_jsonschema_is_installed() {
    if let Some(out) = run_tool(
        "check-jsonschema",
        &[
            "--builtin-schema",
            "vendor.compose-spec",
            "deploy/compose.yaml",
        ],
    ) {
        assert_success("check-jsonschema (Compose Specification)", &out);
    }
}

/// Renders each kustomization (kubectl's built-in kustomize, or kustomize) and validates the
/// result against the Kubernetes schemas bundled with kubernetes-validate.
#[test]
fn rendered_manifests_match_the_kubernetes_schemas_when_tools_are_installed() {
    let dirs = ["deploy/k8s/base", "deploy/k8s/overlays/sasl-tls"];
    let tmp = tempfile::tempdir().unwrap();
    for dir in dirs {
        let rendered = if let Some(out) = run_tool("kubectl", &["kustomize", dir]) {
            out
        } else if let Some(out) = run_tool("kustomize", &["build", dir]) {
            out
        } else {
            return;
        };
        assert_success(&format!("kustomize {dir}"), &rendered);
        let docs: Vec<Value> = serde_yaml_ng::Deserializer::from_slice(&rendered.stdout)
            .map(|d| Value::deserialize(d).unwrap())
            .collect();
        let kinds: BTreeSet<&str> = docs.iter().map(|d| str_at(d, "/kind")).collect();
        assert!(kinds.contains("StatefulSet") && kinds.contains("PodDisruptionBudget"));
        // The generated config object is hash-named and the StatefulSet refers to that name.
        let sts = docs.iter().find(|d| d["kind"] == "StatefulSet").unwrap();
        let config = array(sts, "/spec/template/spec/volumes")
            .iter()
            .find(|v| v["name"] == "config")
            .unwrap();
        let referenced = config
            .pointer("/configMap/name")
            .or_else(|| config.pointer("/secret/secretName"))
            .and_then(Value::as_str)
            .unwrap();
        assert!(
            docs.iter().any(|d| d["metadata"]["name"] == referenced),
            "{dir}: the config volume names {referenced}, which is not rendered"
        );
        let file = tmp.path().join(dir.replace('/', "_") + ".yaml");
        std::fs::write(&file, &rendered.stdout).unwrap();
        let path = file.to_str().unwrap();
        if let Some(out) = run_tool("kubernetes-validate", &["--strict", "--quiet", path]) {
            assert_success(&format!("kubernetes-validate --strict ({dir})"), &out);
        }
    }
}

/// The official AsyncAPI parser, installed by scripts/install-deps.sh under
/// `$DATELINE_TOOLS` (default `~/.cache/dateline/tools`).
#[test]
fn asyncapi_passes_the_official_parser_when_installed() {
    let tools = std::env::var("DATELINE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/dateline/tools")
        });
    let parser = tools.join("asyncapi");
    if !parser.join("node_modules/@asyncapi/parser").is_dir() {
        eprintln!(
            "NOTE: @asyncapi/parser is not installed in {} (scripts/install-deps.sh); check skipped",
            parser.display()
        );
        return;
    }
    let dir = parser.to_str().unwrap();
    if let Some(out) = run_tool(
        "node",
        &["scripts/validate-asyncapi.mjs", dir, "docs/asyncapi.yaml"],
    ) {
        assert_success("@asyncapi/parser docs/asyncapi.yaml", &out);
    }
}
