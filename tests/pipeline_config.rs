//! Configuration: the documented default file, layering, and errors that name the key.

use std::io::Write;
use std::process::Command;

use dateline::config::{Config, Guarantee, OptionValue, Overrides};

#[test]
fn default_toml_documents_exactly_the_defaults() {
    let text = include_str!("../config/default.toml");
    let parsed = Config::from_toml(text).expect("config/default.toml must parse");
    assert_eq!(parsed, Config::default());
    // Every key has a comment line right above it.
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let is_key = !line.starts_with('#') && !line.starts_with('[') && line.contains(" = ");
        if is_key {
            assert!(
                i > 0 && lines[i - 1].starts_with('#'),
                "key without a doc comment: {line}"
            );
        }
    }
}

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn layers_defaults_file_env_flags_in_that_order() {
    let f = file(
        r#"
[kafka]
brokers = "file:9092"
group_id = "file-group"
[kafka.options]
"session.timeout.ms" = 6000
"security.protocol" = "plaintext"
[topics]
input = "file-in"
output = "file-out"
[batch]
max_records = 10
"#,
    );
    let env = vec![
        (
            "DATELINE_KAFKA__BROKERS".to_string(),
            "env:9092".to_string(),
        ),
        ("DATELINE_TOPICS__OUTPUT".to_string(), "env-out".to_string()),
        ("DATELINE_BATCH__MAX_MS".to_string(), "75".to_string()),
        ("DATELINE_SKIP_BROKER_TESTS".to_string(), "1".to_string()),
        ("HOME".to_string(), "/root".to_string()),
    ];
    let overrides = Overrides {
        input_topic: Some("flag-in".into()),
        brokers: Some("flag:9092".into()),
        guarantee: Some(Guarantee::AtLeastOnce),
        ..Overrides::default()
    };
    let c = Config::load_with_env(Some(f.path()), env, &overrides).unwrap();
    assert_eq!(c.kafka.brokers, "flag:9092", "flag beats env and file");
    assert_eq!(c.topics.input, "flag-in", "flag beats file");
    assert_eq!(c.topics.output, "env-out", "env beats file");
    assert_eq!(c.batch.max_ms, 75, "env beats default");
    assert_eq!(c.batch.max_records, 10, "file beats default");
    assert_eq!(c.kafka.group_id, "file-group");
    assert_eq!(c.kafka.transactional_id, "dateline-0", "default stays");
    assert_eq!(c.kafka.guarantee, Guarantee::AtLeastOnce);
    assert_eq!(c.topics.dlq_topic(), "flag-in.dlq");
    assert_eq!(
        c.kafka.options.get("session.timeout.ms"),
        Some(&OptionValue::Integer(6000))
    );
    assert_eq!(c.kafka.options["session.timeout.ms"].to_string(), "6000");
}

#[test]
fn errors_name_the_key() {
    let cases = [
        ("[batch]\nmax_records = \"lots\"\n", "batch.max_records"),
        ("[kafka]\nbrokerz = \"x:1\"\n", "kafka.brokerz"),
        ("[kafka]\nguarantee = \"maybe_once\"\n", "kafka.guarantee"),
        ("[http]\naddress = \"nowhere\"\n", "http.address"),
        ("[batch]\nmax_records = 0\n", "batch.max_records"),
        ("[topics]\ninput = \"a\"\noutput = \"a\"\n", "topics.output"),
        ("[log]\nformat = \"xml\"\n", "log.format"),
        ("telemetry = true\n", "telemetry"),
    ];
    for (text, key) in cases {
        let f = file(text);
        let e = Config::load_with_env(Some(f.path()), Vec::new(), &Overrides::default())
            .expect_err(text);
        assert_eq!(e.key(), Some(key), "{text:?} gave: {e}");
        assert!(e.to_string().contains(key), "{e}");
    }
}

#[test]
fn env_errors_name_the_variable() {
    let env = vec![("DATELINE_BATCH__MAX_MS".to_string(), "soon".to_string())];
    let e = Config::load_with_env(None, env, &Overrides::default()).unwrap_err();
    assert_eq!(e.key(), Some("batch.max_ms"));
    assert!(e.to_string().contains("DATELINE_BATCH__MAX_MS"), "{e}");
}

#[test]
fn binary_refuses_an_invalid_file_naming_the_key() {
    let f = file("[pipeline]\nmax_message_bytes = -5\n");
    let out = Command::new(env!("CARGO_BIN_EXE_dateline"))
        .args(["run", "--config"])
        .arg(f.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pipeline.max_message_bytes"),
        "stderr: {stderr}"
    );
}

#[test]
fn check_config_prints_the_effective_config() {
    let f = file("[topics]\ninput = \"from-file\"\n");
    let out = Command::new(env!("CARGO_BIN_EXE_dateline"))
        .args([
            "run",
            "--check-config",
            "--brokers",
            "b1:9092,b2:9092",
            "--config",
        ])
        .arg(f.path())
        .env("DATELINE_BATCH__MAX_RECORDS", "42")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = Config::from_toml(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert_eq!(printed.kafka.brokers, "b1:9092,b2:9092");
    assert_eq!(printed.topics.input, "from-file");
    assert_eq!(printed.batch.max_records, 42);
}

#[test]
fn an_unreadable_alias_table_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("aliases.toml");
    std::fs::write(&bad, "[aliases]\n\"bad:key\" = [\"Somewhere\"]\n").unwrap();
    for path in [bad, dir.path().join("missing.toml")] {
        let env = vec![(
            "DATELINE_TIMELINES__ALIASES".to_string(),
            path.display().to_string(),
        )];
        let e = dateline::config::Config::load_with_env(
            None,
            env,
            &dateline::config::Overrides::default(),
        )
        .unwrap_err();
        assert_eq!(e.key(), Some("timelines.aliases"), "{e}");
    }
}
