//! Typed configuration of the streaming service.
//!
//! Layers, lowest first: built-in defaults (the functions below, mirrored key by key in
//! `config/default.toml`) < a TOML file (`--config FILE`) < `DATELINE_*` environment variables
//! (`DATELINE_KAFKA__BROKERS` sets `kafka.brokers`: a double underscore separates levels) <
//! command-line flags. Every struct denies unknown keys, so a typo fails at start with an error
//! that names the key instead of being ignored.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::timeline::keys::TimelineKind;
use crate::timeline::store::Ordering as StoreOrdering;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Prefix of the environment variables that override configuration keys.
pub const ENV_PREFIX: &str = "DATELINE_";

/// Why the configuration could not be loaded. The message always names the offending key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A key has a value of the wrong type, is unknown, or a file cannot be read.
    #[error("invalid configuration key `{key}`: {message}")]
    Invalid {
        /// Dotted path of the key, e.g. `batch.max_records`.
        key: String,
        /// What is wrong with it, and where the value came from.
        message: String,
    },
    /// A file given with `--config` does not exist.
    #[error("configuration file {path} does not exist")]
    MissingFile {
        /// The path as given.
        path: String,
    },
}

impl ConfigError {
    /// The dotted key the error is about, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            ConfigError::MissingFile { .. } => None,
        }
    }

    fn invalid(key: &str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.to_string(),
            message: message.into(),
        }
    }

    fn from_figment(error: figment::Error) -> Self {
        let mut key = error.path.join(".");
        let mut message = error.kind.to_string();
        if let figment::error::Kind::UnknownField(field, expected) = &error.kind {
            if error.path.last() != Some(field) {
                key = if key.is_empty() {
                    field.clone()
                } else {
                    format!("{key}.{field}")
                };
            }
            message = format!("unknown key; expected one of: {}", expected.join(", "));
        }
        if let Some(source) = error.metadata.as_ref().and_then(|m| m.source.as_ref()) {
            message.push_str(&format!(" (in {source})"));
        }
        if key.is_empty() {
            key = "<root>".to_string();
        }
        ConfigError::Invalid { key, message }
    }
}

/// The whole service configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Kafka connection, consumer group and delivery guarantee.
    #[serde(default)]
    pub kafka: KafkaConfig,
    /// Topic names.
    #[serde(default)]
    pub topics: TopicsConfig,
    /// How many input records make one transaction.
    #[serde(default)]
    pub batch: BatchConfig,
    /// Processing limits and parallelism.
    #[serde(default)]
    pub pipeline: PipelineConfig,
    /// Health, readiness and metrics endpoint.
    #[serde(default)]
    pub http: HttpConfig,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// Cross-article timelines: keys, merging, ordering, state.
    #[serde(default)]
    pub timelines: TimelinesConfig,
}

/// Kafka connection, consumer group and delivery guarantee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap servers, comma separated. Example: `"kafka-1:9092,kafka-2:9092"`.
    #[serde(default = "default_brokers")]
    pub brokers: String,
    /// Consumer group id. Instances sharing it split the input partitions between them.
    /// Example: `"dateline"`.
    #[serde(default = "default_group_id")]
    pub group_id: String,
    /// Transactional id of this instance's producer. Must be stable across restarts of the same
    /// instance (so a restarted instance fences its own zombie) and unique between instances.
    /// Example: `"dateline-0"` (e.g. the StatefulSet pod name).
    #[serde(default = "default_transactional_id")]
    pub transactional_id: String,
    /// `exactly_once` (transactions) or `at_least_once` (idempotent producer, offsets committed
    /// after every record is acknowledged; a crash may duplicate output).
    #[serde(default)]
    pub guarantee: Guarantee,
    /// Any librdkafka property, passed through to both the consumer and the producer; it wins
    /// over what dateline sets. Example: `{ "security.protocol" = "ssl" }`.
    #[serde(default)]
    pub options: BTreeMap<String, OptionValue>,
}

/// Delivery guarantee of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Guarantee {
    /// Output, dead letters and input offsets are committed in one Kafka transaction.
    #[default]
    ExactlyOnce,
    /// Idempotent producer; input offsets are committed after the output is acknowledged.
    AtLeastOnce,
}

impl fmt::Display for Guarantee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Guarantee::ExactlyOnce => "exactly_once",
            Guarantee::AtLeastOnce => "at_least_once",
        })
    }
}

/// A librdkafka property value: TOML strings, integers, floats and booleans are all accepted and
/// passed on as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OptionValue {
    /// `"ssl"`.
    Text(String),
    /// `true`.
    Bool(bool),
    /// `1048576`.
    Integer(i64),
    /// `0.5`.
    Float(f64),
}

impl fmt::Display for OptionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionValue::Text(s) => f.write_str(s),
            OptionValue::Bool(b) => write!(f, "{b}"),
            OptionValue::Integer(i) => write!(f, "{i}"),
            OptionValue::Float(x) => write!(f, "{x}"),
        }
    }
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: default_brokers(),
            group_id: default_group_id(),
            transactional_id: default_transactional_id(),
            guarantee: Guarantee::default(),
            options: BTreeMap::new(),
        }
    }
}

fn default_brokers() -> String {
    "127.0.0.1:9092".to_string()
}
fn default_group_id() -> String {
    "dateline".to_string()
}
fn default_transactional_id() -> String {
    "dateline-0".to_string()
}

/// Topic names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicsConfig {
    /// Topic the articles are read from. Example: `"articles"`.
    #[serde(default = "default_input_topic")]
    pub input: String,
    /// Topic the timeline records are written to, keyed by timeline. Example: `"timeline"`.
    #[serde(default = "default_output_topic")]
    pub output: String,
    /// Dead-letter topic for records that are not articles. Unset means `<input>.dlq`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dlq: Option<String>,
}

impl TopicsConfig {
    /// The dead-letter topic: the configured one, or `<input>.dlq`.
    pub fn dlq_topic(&self) -> String {
        self.dlq
            .clone()
            .unwrap_or_else(|| format!("{}.dlq", self.input))
    }
}

impl Default for TopicsConfig {
    fn default() -> Self {
        TopicsConfig {
            input: default_input_topic(),
            output: default_output_topic(),
            dlq: None,
        }
    }
}

fn default_input_topic() -> String {
    "articles".to_string()
}
fn default_output_topic() -> String {
    "timeline".to_string()
}

/// How many input records make one transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    /// Most input records per transaction. Larger batches amortise the commit; smaller ones cut
    /// latency and the work redone after an abort. Example: `500`.
    #[serde(default = "default_batch_max_records")]
    pub max_records: usize,
    /// Longest wait, in milliseconds, for a batch to fill once its first record arrived. A batch
    /// only waits for more records while the previous one is still committing; otherwise it
    /// takes what is already fetched. Under load batches fill by count first. Example: `20`.
    #[serde(default = "default_batch_max_ms")]
    pub max_ms: u64,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_records: default_batch_max_records(),
            max_ms: default_batch_max_ms(),
        }
    }
}

fn default_batch_max_records() -> usize {
    500
}
fn default_batch_max_ms() -> u64 {
    20
}

/// Processing limits and parallelism.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Largest input value accepted, in bytes; larger ones are dead-lettered as `too_large`. Also
    /// the largest output record. Keep it below the topics' `max.message.bytes` minus headers.
    /// Example: `900000`.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// Threads extracting timelines in parallel; `0` means one per CPU core. Example: `4`.
    #[serde(default)]
    pub worker_threads: usize,
    /// After SIGTERM/SIGINT, how long (milliseconds) the in-flight batch may take to commit
    /// before the process gives up and exits non-zero. Example: `30000`.
    #[serde(default = "default_shutdown_timeout_ms")]
    pub shutdown_timeout_ms: u64,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            max_message_bytes: default_max_message_bytes(),
            worker_threads: 0,
            shutdown_timeout_ms: default_shutdown_timeout_ms(),
        }
    }
}

fn default_max_message_bytes() -> usize {
    900_000
}
fn default_shutdown_timeout_ms() -> u64 {
    30_000
}

/// Health, readiness and metrics endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address of `/healthz`, `/readyz` and `/metrics`. Example: `"0.0.0.0:9898"`.
    #[serde(default = "default_http_address")]
    pub address: SocketAddr,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            address: default_http_address(),
        }
    }
}

fn default_http_address() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9898))
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `json` (one object per line, for collectors) or `pretty` (for people).
    #[serde(default)]
    pub format: LogFormat,
    /// A `tracing` filter: a level (`info`) or directives (`dateline=debug,rdkafka=warn`).
    #[serde(default = "default_log_level")]
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::default(),
            level: default_log_level(),
        }
    }
}

fn default_log_level() -> String {
    "info".to_string()
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable, coloured when on a terminal.
    #[default]
    Pretty,
}

/// Cross-article timelines: the timeline stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelinesConfig {
    /// Run the timeline stage (and publish article records to the events topic for it).
    /// Example: `true`.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Which timelines each event goes to: `global` (one per input topic, key
    /// `topic:<input>`) and `entity` (one per participant or place, key from the alias table).
    /// Example: `["global", "entity"]`.
    #[serde(default = "default_timeline_kinds")]
    pub kinds: Vec<TimelineKind>,
    /// Extra alias table (TOML, the format of `config/aliases.toml`), layered over the built-in
    /// one; its entries win. Example: `"/etc/dateline/aliases.toml"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<PathBuf>,
    /// `immediate`: publish every change at once. `watermark`: release entries per timeline in
    /// date order once the watermark passes them; late changes go to the late topic.
    #[serde(default)]
    pub ordering: StoreOrdering,
    /// Watermark mode: how far the watermark trails the latest publication time seen, in
    /// milliseconds. Example: `86400000` (one day).
    #[serde(default = "default_allowed_lateness_ms")]
    pub allowed_lateness_ms: u64,
    /// Topic the timeline entries are written to, keyed by timeline. Example: `"timelines"`.
    #[serde(default = "default_timelines_output")]
    pub output: String,
    /// Internal topic from the extraction stage to the timeline stage, keyed by timeline.
    /// Unset means `<topics.input>.events`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_topic: Option<String>,
    /// Topic of late changes (watermark mode). Unset means `<timelines.output>.late`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_topic: Option<String>,
    /// Compacted changelog of the timeline state. Unset means `<kafka.group_id>.timelines.changelog`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changelog_topic: Option<String>,
    /// Partitions of the events and changelog topics when dateline creates them; `0` means as
    /// many as the input topic. They bound how many instances share the timeline work.
    #[serde(default)]
    pub partitions: i32,
    /// Where the state keeps its entries' bodies (sources, sentence): `disk`, a file per
    /// partition under `state_dir` that is a cache of the changelog (rebuilt from it on every
    /// assignment, deleted when the partition goes), or `memory`. Merge indexes stay in memory
    /// either way. Example: `"disk"`.
    #[serde(default)]
    pub state: StateBackend,
    /// Directory of the on-disk state; each process uses `<state_dir>/<pid>`. Unset means
    /// `<system temp dir>/dateline-state`. Example: `"/var/lib/dateline"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_dir: Option<PathBuf>,
    /// Page cache of the on-disk state, per partition, in MiB. Example: `4`.
    #[serde(default = "default_state_cache_mb")]
    pub state_cache_mb: u64,
    /// With `state = "disk"`: per partition, how much memory the timelines used recently may
    /// take (their entries' dates, triggers, entities and indexes), in MiB. After each batch the
    /// least recently used timelines beyond it are spilled to the state file, and read back
    /// when a record comes for them. Example: `16`.
    #[serde(default = "default_state_memory_mb")]
    pub state_memory_mb: u64,
    /// Most events-topic records per timeline-stage transaction. An article sends a record to
    /// the events topic for each of its events' timelines (about 35 for a news article), so
    /// this stage's batches are larger than the extraction stage's: fewer transactions and
    /// state-file commits, and an entry changed several times in a batch is logged once; but
    /// a batch's entries, their JSON and the producer's copies are all in memory at once (on a
    /// 12,000-article drain: 218 MB peak RSS at 500, 272 MB at 2,000, 334 MB at 5,000).
    /// Example: `1000`.
    #[serde(default = "default_timelines_batch_max_records")]
    pub batch_max_records: usize,
}

/// Where the timeline state keeps entry bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateBackend {
    /// A redb file per partition.
    #[default]
    Disk,
    /// In memory.
    Memory,
}

impl TimelinesConfig {
    /// The internal events topic.
    pub fn events_topic(&self, topics: &TopicsConfig) -> String {
        self.events_topic
            .clone()
            .unwrap_or_else(|| format!("{}.events", topics.input))
    }

    /// The late topic.
    pub fn late_topic(&self) -> String {
        self.late_topic
            .clone()
            .unwrap_or_else(|| format!("{}.late", self.output))
    }

    /// The changelog topic.
    pub fn changelog_topic(&self, kafka: &KafkaConfig) -> String {
        self.changelog_topic
            .clone()
            .unwrap_or_else(|| format!("{}.timelines.changelog", kafka.group_id))
    }
}

impl Default for TimelinesConfig {
    fn default() -> Self {
        TimelinesConfig {
            enabled: true,
            kinds: default_timeline_kinds(),
            aliases: None,
            ordering: StoreOrdering::default(),
            allowed_lateness_ms: default_allowed_lateness_ms(),
            output: default_timelines_output(),
            events_topic: None,
            late_topic: None,
            changelog_topic: None,
            partitions: 0,
            state: StateBackend::default(),
            state_dir: None,
            state_cache_mb: default_state_cache_mb(),
            state_memory_mb: default_state_memory_mb(),
            batch_max_records: default_timelines_batch_max_records(),
        }
    }
}

fn default_true() -> bool {
    true
}
fn default_timeline_kinds() -> Vec<TimelineKind> {
    vec![TimelineKind::Global, TimelineKind::Entity]
}
fn default_allowed_lateness_ms() -> u64 {
    86_400_000
}
fn default_state_cache_mb() -> u64 {
    4
}
fn default_state_memory_mb() -> u64 {
    16
}
fn default_timelines_batch_max_records() -> usize {
    1000
}
fn default_timelines_output() -> String {
    "timelines".to_string()
}

/// Values given on the command line; they override every other layer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    /// `--brokers`.
    pub brokers: Option<String>,
    /// `--group-id`.
    pub group_id: Option<String>,
    /// `--transactional-id`.
    pub transactional_id: Option<String>,
    /// `--guarantee`.
    pub guarantee: Option<Guarantee>,
    /// `--input-topic`.
    pub input_topic: Option<String>,
    /// `--output-topic`.
    pub output_topic: Option<String>,
    /// `--dlq-topic`.
    pub dlq_topic: Option<String>,
    /// `--http-address`.
    pub http_address: Option<SocketAddr>,
    /// `--log-format`.
    pub log_format: Option<LogFormat>,
    /// `--log-level`.
    pub log_level: Option<String>,
}

impl Config {
    /// Loads defaults < `file` < the process environment < `overrides`, then validates.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        Config::load_with_env(file, std::env::vars(), overrides)
    }

    /// Like [`Config::load`] with an explicit environment, so tests need not mutate the
    /// process's. Only variables named `DATELINE_<SECTION>__<KEY>` are read: a single-level name
    /// such as `DATELINE_KCAT` belongs to tooling, not to the configuration.
    pub fn load_with_env(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::MissingFile {
                    path: path.display().to_string(),
                });
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let mut env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX) && k.contains("__"))
            .collect();
        env.sort();
        let mut env_names = BTreeMap::new();
        for (name, value) in env {
            let key = name[ENV_PREFIX.len()..].to_lowercase().replace("__", ".");
            let value: figment::value::Value = match value.parse() {
                Ok(v) => v,
                Err(never) => match never {},
            };
            figment = figment.merge(Serialized::default(&key, value));
            env_names.insert(key, name);
        }
        let mut config: Config = figment.extract().map_err(|e| {
            let mut error = ConfigError::from_figment(e);
            if let ConfigError::Invalid { key, message } = &mut error
                && let Some(name) = env_names.get(key.as_str())
            {
                *message = format!("{message} (from environment variable {name})");
            }
            error
        })?;
        config.apply(overrides);
        config.validate()?;
        Ok(config)
    }

    /// Parses one TOML document with nothing layered on top (used to check `config/default.toml`).
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config: Config = Figment::from(Toml::string(text))
            .extract()
            .map_err(ConfigError::from_figment)?;
        config.validate()?;
        Ok(config)
    }

    fn apply(&mut self, o: &Overrides) {
        if let Some(v) = &o.brokers {
            self.kafka.brokers = v.clone();
        }
        if let Some(v) = &o.group_id {
            self.kafka.group_id = v.clone();
        }
        if let Some(v) = &o.transactional_id {
            self.kafka.transactional_id = v.clone();
        }
        if let Some(v) = o.guarantee {
            self.kafka.guarantee = v;
        }
        if let Some(v) = &o.input_topic {
            self.topics.input = v.clone();
        }
        if let Some(v) = &o.output_topic {
            self.topics.output = v.clone();
        }
        if let Some(v) = &o.dlq_topic {
            self.topics.dlq = Some(v.clone());
        }
        if let Some(v) = o.http_address {
            self.http.address = v;
        }
        if let Some(v) = o.log_format {
            self.log.format = v;
        }
        if let Some(v) = &o.log_level {
            self.log.level = v.clone();
        }
    }

    /// Checks what types alone cannot: non-empty names, positive sizes, distinct topics.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let non_empty = [
            ("kafka.brokers", &self.kafka.brokers),
            ("kafka.group_id", &self.kafka.group_id),
            ("kafka.transactional_id", &self.kafka.transactional_id),
            ("topics.input", &self.topics.input),
            ("topics.output", &self.topics.output),
            ("log.level", &self.log.level),
        ];
        for (key, value) in non_empty {
            if value.trim().is_empty() {
                return Err(ConfigError::invalid(key, "must not be empty"));
            }
        }
        if self
            .topics
            .dlq
            .as_deref()
            .is_some_and(|d| d.trim().is_empty())
        {
            return Err(ConfigError::invalid(
                "topics.dlq",
                "must not be empty (leave it out for `<input>.dlq`)",
            ));
        }
        let dlq = self.topics.dlq_topic();
        if self.topics.output == self.topics.input {
            return Err(ConfigError::invalid(
                "topics.output",
                "must differ from topics.input",
            ));
        }
        if dlq == self.topics.input || dlq == self.topics.output {
            return Err(ConfigError::invalid(
                "topics.dlq",
                "must differ from topics.input and topics.output",
            ));
        }
        if self.batch.max_records == 0 {
            return Err(ConfigError::invalid(
                "batch.max_records",
                "must be at least 1",
            ));
        }
        if self.batch.max_ms == 0 {
            return Err(ConfigError::invalid("batch.max_ms", "must be at least 1"));
        }
        if self.timelines.batch_max_records == 0 {
            return Err(ConfigError::invalid(
                "timelines.batch_max_records",
                "must be at least 1",
            ));
        }
        if self.pipeline.max_message_bytes < 1024 {
            return Err(ConfigError::invalid(
                "pipeline.max_message_bytes",
                "must be at least 1024",
            ));
        }
        if self.pipeline.shutdown_timeout_ms == 0 {
            return Err(ConfigError::invalid(
                "pipeline.shutdown_timeout_ms",
                "must be at least 1",
            ));
        }
        if self.timelines.enabled {
            let t = &self.timelines;
            let events = t.events_topic(&self.topics);
            let late = t.late_topic();
            let changelog = t.changelog_topic(&self.kafka);
            let named = [
                ("timelines.output", t.output.as_str()),
                ("timelines.events_topic", events.as_str()),
                ("timelines.late_topic", late.as_str()),
                ("timelines.changelog_topic", changelog.as_str()),
            ];
            let taken = [
                self.topics.input.as_str(),
                self.topics.output.as_str(),
                dlq.as_str(),
            ];
            for (i, (key, topic)) in named.iter().enumerate() {
                if topic.trim().is_empty() {
                    return Err(ConfigError::invalid(key, "must not be empty"));
                }
                if taken.contains(topic) || named[..i].iter().any(|(_, t)| t == topic) {
                    return Err(ConfigError::invalid(
                        key,
                        format!("topic {topic:?} is already used for another purpose"),
                    ));
                }
            }
            if t.kinds.is_empty() {
                return Err(ConfigError::invalid(
                    "timelines.kinds",
                    "must name at least one kind (or set timelines.enabled = false)",
                ));
            }
            if let Some(path) = &t.aliases
                && let Err(e) = crate::timeline::keys::Aliases::load(path)
            {
                return Err(ConfigError::invalid("timelines.aliases", e.to_string()));
            }
            if t.partitions < 0 {
                return Err(ConfigError::invalid(
                    "timelines.partitions",
                    "must be 0 (as many as the input topic) or more",
                ));
            }
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return Err(ConfigError::invalid("log.level", e.to_string()));
        }
        for key in self.kafka.options.keys() {
            if key.trim().is_empty() {
                return Err(ConfigError::invalid(
                    "kafka.options",
                    "property names must not be empty",
                ));
            }
        }
        Ok(())
    }

    /// The effective configuration as TOML, for `dateline run --check-config`.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn env_needs_a_section() {
        let env = vec![
            ("DATELINE_KCAT".to_string(), "/usr/bin/kcat".to_string()),
            ("DATELINE_BATCH__MAX_RECORDS".to_string(), "7".to_string()),
        ];
        let c = Config::load_with_env(None, env, &Overrides::default()).unwrap();
        assert_eq!(c.batch.max_records, 7);
    }

    #[test]
    fn wrong_type_names_the_key() {
        let env = vec![(
            "DATELINE_BATCH__MAX_RECORDS".to_string(),
            "many".to_string(),
        )];
        let e = Config::load_with_env(None, env, &Overrides::default()).unwrap_err();
        assert_eq!(e.key(), Some("batch.max_records"), "{e}");
    }
}
