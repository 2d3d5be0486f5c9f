//! `dateline run` and `dateline demo`: configuration, telemetry, HTTP and the pipeline wired
//! together.
//!
//! The binary stays thin: [`run`] loads the configuration and turns SIGTERM/SIGINT into a
//! [`ShutdownTrigger`](crate::pipeline::shutdown::ShutdownTrigger); [`serve`] does the rest and
//! can be driven in-process by tests with their own trigger.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::config::{Config, Guarantee, LogFormat, Overrides};
use crate::http::{self, AppState};
use crate::pipeline::shutdown::{self, Shutdown};
use crate::pipeline::status::PipelineStatus;
use crate::telemetry;
use crate::timeline::store::SharedStore;

/// Arguments of `dateline run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// TOML configuration file, layered over the defaults (see config/default.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the effective configuration (defaults < file < env < flags) and exit.
    #[arg(long)]
    check_config: bool,
    /// Kafka bootstrap servers (`kafka.brokers`).
    #[arg(long)]
    brokers: Option<String>,
    /// Consumer group id (`kafka.group_id`).
    #[arg(long)]
    group_id: Option<String>,
    /// Transactional id of this instance (`kafka.transactional_id`).
    #[arg(long)]
    transactional_id: Option<String>,
    /// Delivery guarantee (`kafka.guarantee`).
    #[arg(long, value_enum)]
    guarantee: Option<Guarantee>,
    /// Input topic (`topics.input`).
    #[arg(long)]
    input_topic: Option<String>,
    /// Output topic (`topics.output`).
    #[arg(long)]
    output_topic: Option<String>,
    /// Dead-letter topic (`topics.dlq`).
    #[arg(long)]
    dlq_topic: Option<String>,
    /// Address of /healthz, /readyz and /metrics (`http.address`).
    #[arg(long)]
    http_address: Option<std::net::SocketAddr>,
    /// Log format (`log.format`).
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
    /// Log filter (`log.level`).
    #[arg(long)]
    log_level: Option<String>,
}

/// Arguments of `dateline demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Give up if the pipeline has not committed every sample within this many seconds.
    #[arg(long, default_value_t = 60)]
    timeout_secs: u64,
    /// Log filter for the demo's own pipeline logs (stderr).
    #[arg(long, default_value = "error")]
    log_level: String,
}

impl RunArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            brokers: self.brokers.clone(),
            group_id: self.group_id.clone(),
            transactional_id: self.transactional_id.clone(),
            guarantee: self.guarantee,
            input_topic: self.input_topic.clone(),
            output_topic: self.output_topic.clone(),
            dlq_topic: self.dlq_topic.clone(),
            http_address: self.http_address,
            log_format: self.log_format,
            log_level: self.log_level.clone(),
        }
    }
}

/// Runs the streaming service until SIGTERM/SIGINT or a fatal error.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref(), &args.overrides())?;
    if args.check_config {
        print!("{}", config.to_toml());
        return Ok(ExitCode::SUCCESS);
    }
    telemetry::init_logging(&config.log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(async {
        let (trigger, listener) = shutdown::channel();
        let signals = tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown requested");
            trigger.trigger();
        });
        let result = serve(config, listener).await;
        signals.abort();
        result
    });
    // A pipeline thread that overran the shutdown timeout must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result?;
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, "cannot listen for SIGTERM; SIGINT only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Serves HTTP and runs the pipeline until `shutdown` fires or the pipeline fails.
///
/// After shutdown is requested the pipeline gets `pipeline.shutdown_timeout_ms` to commit the
/// batch in hand; past that this returns an error (the process exits non-zero, and the open
/// transaction is aborted by the broker or fenced by the next instance).
pub async fn serve(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    let metrics = telemetry::metrics()?;
    let status = Arc::new(PipelineStatus::default());
    let timeline_status = Arc::new(PipelineStatus::default());
    let store = Arc::new(SharedStore::new(config.timelines.ordering));
    // The stages stop on the caller's shutdown or when their peer fails.
    let (stopper, inner) = shutdown::channel();
    let stopper = Arc::new(stopper);
    let forward = {
        let mut outer = shutdown.clone();
        let stopper = Arc::clone(&stopper);
        tokio::spawn(async move {
            outer.recv().await;
            stopper.trigger();
        })
    };
    let listener = http::bind(config.http.address)
        .await
        .with_context(|| format!("binding http.address {}", config.http.address))?;
    tracing::info!(address = %config.http.address, "http listening");
    let http = tokio::spawn(http::serve(
        listener,
        AppState {
            status: Arc::clone(&status),
            metrics,
            timeline_status: config
                .timelines
                .enabled
                .then(|| Arc::clone(&timeline_status)),
            timelines: Arc::clone(&store) as Arc<dyn crate::timeline::TimelineView>,
        },
        shutdown.clone(),
    ));
    let timeout = Duration::from_millis(config.pipeline.shutdown_timeout_ms);
    let pipeline = {
        let shutdown = inner.clone();
        let status = Arc::clone(&status);
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            crate::pipeline::supervise("extraction", &shutdown, || {
                crate::pipeline::run(&config, shutdown.clone(), Arc::clone(&status))
            })
        })
    };
    let timelines = if config.timelines.enabled {
        let shutdown = inner.clone();
        let status = Arc::clone(&timeline_status);
        let store = Arc::clone(&store);
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            crate::pipeline::supervise("timelines", &shutdown, || {
                crate::pipeline::timelines::run(
                    &config,
                    shutdown.clone(),
                    Arc::clone(&status),
                    Arc::clone(&store),
                )
            })
        })
    } else {
        tokio::task::spawn_blocking(|| Ok(()))
    };
    // Both stages run until shutdown; either one failing stops the process (its peer is asked
    // to stop too, and gets the shutdown timeout to commit).
    let both = async {
        let (a, b) = tokio::join!(
            async {
                let r = pipeline.await;
                if !matches!(r, Ok(Ok(()))) {
                    stopper.trigger();
                }
                r
            },
            async {
                let r = timelines.await;
                if !matches!(r, Ok(Ok(()))) {
                    stopper.trigger();
                }
                r
            }
        );
        (a, b)
    };
    tokio::pin!(both);
    let mut stop = shutdown.clone();
    let (a, b) = tokio::select! {
        joined = &mut both => joined,
        _ = stop.recv() => match tokio::time::timeout(timeout, &mut both).await {
            Ok(joined) => joined,
            Err(_) => {
                http.abort();
                anyhow::bail!("the pipeline did not stop within pipeline.shutdown_timeout_ms ({timeout:?})");
            }
        },
    };
    http.abort();
    forward.abort();
    // Deletes the on-disk state files (a cache of the changelog) of every partition.
    store.write(|partitions| partitions.clear());
    if let crate::timeline::bodies::Backend::Disk { dir, .. } =
        crate::pipeline::timelines::backend(&config.timelines)
    {
        let _ = std::fs::remove_dir(dir);
    }
    a.context("the pipeline thread panicked")??;
    b.context("the timeline stage thread panicked")??;
    Ok(())
}

/// Runs the demo on the mock cluster and prints the timelines.
pub fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    telemetry::init_logging(&crate::config::LogConfig {
        format: LogFormat::Pretty,
        level: args.log_level,
    })?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    crate::pipeline::demo::run(&mut out, Duration::from_secs(args.timeout_secs))?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `dateline replay`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("start").required(true).args(["from_beginning", "from_timestamp"])))]
pub struct ReplayArgs {
    /// TOML configuration file (brokers, input topic, timeline settings), as for `run`.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Kafka bootstrap servers (`kafka.brokers`).
    #[arg(long)]
    brokers: Option<String>,
    /// Input topic to replay (`topics.input`).
    #[arg(long)]
    input_topic: Option<String>,
    /// Start at the first offset of every partition.
    #[arg(long)]
    from_beginning: bool,
    /// Start at the first record at or after this time (RFC 3339, or milliseconds since the
    /// epoch); the offsets come from the broker.
    #[arg(long, value_name = "T", value_parser = parse_time)]
    from_timestamp: Option<chrono::DateTime<chrono::Utc>>,
    /// Stop before the first record at or after this time; default: the partitions' ends when
    /// the replay starts.
    #[arg(long, value_name = "T2", value_parser = parse_time)]
    to: Option<chrono::DateTime<chrono::Utc>>,
    /// The replay's own consumer group (records the replayed range; never the live group).
    #[arg(long)]
    group: String,
    /// Topic the timeline entries are written to (late changes: `<output>.late`).
    #[arg(long)]
    output: String,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Log filter (`log.level`).
    #[arg(long, default_value = "warn")]
    log_level: String,
}

fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(ms) = s.parse::<i64>() {
        return chrono::DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| format!("{ms} is out of range"));
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("expected RFC 3339 (2019-12-17T00:00:00Z) or epoch milliseconds: {e}"))
}

/// Replays a range of the input topic into a topic of its own and prints a summary.
pub fn replay(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let overrides = Overrides {
        brokers: args.brokers.clone(),
        input_topic: args.input_topic.clone(),
        ..Overrides::default()
    };
    let config = Config::load(args.config.as_deref(), &overrides)?;
    telemetry::init_logging(&crate::config::LogConfig {
        format: LogFormat::Pretty,
        level: args.log_level.clone(),
    })?;
    let options = crate::pipeline::replay::ReplayOptions {
        start: match args.from_timestamp {
            Some(t) => crate::pipeline::replay::Start::Timestamp(t),
            None => crate::pipeline::replay::Start::Beginning,
        },
        to: args.to,
        group: args.group,
        output: args.output,
        progress: !args.quiet,
    };
    let started = std::time::Instant::now();
    let summary = crate::pipeline::replay::run(&config, &options)?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "replayed {} inputs ({} articles, {} not articles) in {:.1} s: {} records, {} entry versions to {}, {} late, {} entries",
        summary.inputs,
        summary.articles,
        summary.poison,
        secs,
        summary.records,
        summary.entries_published,
        options.output,
        summary.late,
        summary.entries
    );
    println!("{}", serde_json::to_string(&summary)?);
    Ok(ExitCode::SUCCESS)
}
