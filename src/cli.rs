//! The command line of the `dateline` binary.
//!
//! - `extract`: article(s) from a file or stdin -> ordered timeline records (JSON lines or text).
//! - `annotate` / `eval`: TimeML in, TimeML out; TempEval-3 scores.
//! - `run`: the streaming service. `demo`: the same pipeline on an in-process Kafka cluster.
//! - `schema`: prints the JSON Schemas of the contracts.

use std::io::{BufRead, Read, Write};
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{DateTime, FixedOffset};
use clap::{Parser, Subcommand, ValueEnum};

use crate::article::{self, Article, Fallback};
use crate::timeline::{self, TimelineRecord};

/// dateline: news articles in, timelines of dated events out.
#[derive(Debug, Parser)]
#[command(name = "dateline", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Extract the ordered, dated events of articles from a file or stdin.
    Extract(ExtractArgs),
    /// Tag TimeML / TempEval-3 documents: gold tags out, dateline's TIMEX3 tags in.
    Annotate(crate::timeml::cli::AnnotateArgs),
    /// Score system TimeML against gold with the TempEval-3 metrics.
    Eval(crate::timeml::cli::EvalArgs),
    /// Run the streaming service against Kafka.
    Run(crate::service::RunArgs),
    /// Run the pipeline on an in-process Kafka cluster with bundled sample articles.
    Demo(crate::service::DemoArgs),
    /// Reprocess a range of the input topic into a topic of its own (same input, same output).
    Replay(crate::service::ReplayArgs),
    /// Print the temporal expressions (TIMEX3) of articles, one JSON object per line.
    Tag(ExtractArgs),
    /// Print the JSON Schema of a contract.
    Schema(SchemaArgs),
    /// Score cross-article merging against hand-labelled clusters (pairwise and B-cubed P/R/F1).
    MergeEval(MergeEvalArgs),
}

/// Arguments of `dateline merge-eval`.
#[derive(Debug, clap::Args)]
pub struct MergeEvalArgs {
    /// Articles, one JSON article per line.
    #[arg(default_value = "tests/data/merge/articles.jsonl")]
    articles: String,
    /// Gold clusters: one line per record, `(article_id, date text, trigger)` -> cluster label.
    #[arg(default_value = "tests/data/merge/gold.jsonl")]
    gold: String,
    /// Extra alias table layered over the built-in one.
    #[arg(long)]
    aliases: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Also list the merged clusters, the false and the missed pairs.
    #[arg(long)]
    errors: bool,
}

/// Arguments of `dateline extract`.
#[derive(Debug, clap::Args)]
pub struct ExtractArgs {
    /// A JSON article, JSON lines of articles, or plain text; `-` or nothing for stdin.
    #[arg(default_value = "-")]
    input: String,
    /// Publication time (RFC 3339) for plain-text input.
    #[arg(long)]
    published_at: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Largest input accepted, in bytes.
    #[arg(long, default_value_t = 16 << 20)]
    max_bytes: usize,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// One timeline record per line.
    Json,
    /// A readable timeline.
    Text,
}

/// Arguments of `dateline schema`.
#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Which contract.
    #[arg(value_enum)]
    which: SchemaKind,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SchemaKind {
    /// The input article.
    Article,
    /// The timeline record.
    Record,
    /// The timeline entry (the timeline stage's output).
    Entry,
    /// The dead letter: original key, value and headers plus the `dlq-*` headers.
    DeadLetter,
}

/// Parses the process arguments and runs the command.
pub fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Extract(args) => extract(args, false),
        Command::Tag(args) => extract(args, true),
        Command::Annotate(args) => crate::timeml::cli::annotate(args),
        Command::Eval(args) => crate::timeml::cli::eval(args),
        Command::Run(args) => crate::service::run(args),
        Command::Demo(args) => crate::service::demo(args),
        Command::Replay(args) => crate::service::replay(args),
        Command::Schema(args) => schema(args),
        Command::MergeEval(args) => merge_eval(args),
    }
}

fn merge_eval(args: MergeEvalArgs) -> anyhow::Result<ExitCode> {
    use crate::timeline::keys::Aliases;
    let read = |p: &str| std::fs::read_to_string(p).with_context(|| format!("reading {p}"));
    let mut aliases = Aliases::builtin();
    if let Some(path) = &args.aliases {
        aliases.extend(Aliases::load(std::path::Path::new(path))?);
    }
    let report = crate::timeline::merge_eval::evaluate(
        &read(&args.articles)?,
        &read(&args.gold)?,
        &aliases,
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if args.errors {
        print!("{report:#}");
    } else {
        print!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}

fn schema(args: SchemaArgs) -> anyhow::Result<ExitCode> {
    let name = match args.which {
        SchemaKind::Article => "article",
        SchemaKind::Record => "record",
        SchemaKind::Entry => "entry",
        SchemaKind::DeadLetter => "dead-letter",
    };
    let all = crate::schemas::all();
    let (_, _, schema) = all
        .iter()
        .find(|(n, _, _)| *n == name)
        .context("unknown schema")?;
    print!("{schema}");
    Ok(ExitCode::SUCCESS)
}

fn extract(args: ExtractArgs, timexes_only: bool) -> anyhow::Result<ExitCode> {
    let mut raw = Vec::new();
    if args.input == "-" {
        std::io::stdin()
            .lock()
            .take(args.max_bytes as u64 + 1)
            .read_to_end(&mut raw)
            .context("reading stdin")?;
    } else {
        raw = std::fs::read(&args.input).with_context(|| format!("reading {}", args.input))?;
    }
    let published_at = args
        .published_at
        .as_deref()
        .map(DateTime::parse_from_rfc3339)
        .transpose()
        .context("--published-at must be RFC 3339, e.g. 2019-12-17T06:11:00+09:00")?;
    let articles = parse_articles(&raw, &args.input, published_at, args.max_bytes)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for article in &articles {
        if timexes_only {
            for t in crate::tagger::tag(&article.text, article.published_at) {
                let line = serde_json::json!({
                    "article": article.id, "span": [t.span.start, t.span.end], "text": t.text,
                    "type": t.kind.as_str(), "value": t.value, "mod": t.modifier.map(|m| m.as_str()),
                    "anchor": t.anchor, "granularity": t.granularity, "rule": t.rule,
                    "interval": t.interval,
                });
                serde_json::to_writer(&mut out, &line)?;
                out.write_all(b"\n")?;
            }
            continue;
        }
        let records = timeline::extract(article);
        match args.format {
            Format::Json => {
                for r in &records {
                    serde_json::to_writer(&mut out, r)?;
                    out.write_all(b"\n")?;
                }
            }
            Format::Text => write_text(&mut out, article, &records)?,
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Reads one JSON article, JSON lines of articles, or plain text.
fn parse_articles(
    raw: &[u8],
    name: &str,
    published_at: Option<DateTime<FixedOffset>>,
    limit: usize,
) -> anyhow::Result<Vec<Article>> {
    let fallback = Fallback {
        id: name.to_string(),
        published_at,
    };
    let text = std::str::from_utf8(raw).context("input is not UTF-8")?;
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') {
        if published_at.is_none() {
            bail!("plain-text input needs --published-at");
        }
        return Ok(vec![article::decode(Some(raw), limit, &fallback)?]);
    }
    // A single (possibly pretty-printed) JSON article, or JSON lines.
    if let Ok(one) = article::decode(Some(trimmed.as_bytes()), limit, &fallback) {
        return Ok(vec![one]);
    }
    let mut articles = Vec::new();
    for (n, line) in raw.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let article = article::decode(Some(line.as_bytes()), limit, &fallback)
            .with_context(|| format!("{name}: line {}", n + 1))?;
        articles.push(article);
    }
    Ok(articles)
}

fn write_text(
    out: &mut impl Write,
    article: &Article,
    records: &[TimelineRecord],
) -> std::io::Result<()> {
    writeln!(
        out,
        "{} ({}, published {})",
        article.title.as_deref().unwrap_or(&article.id),
        article.source.as_deref().unwrap_or("unknown source"),
        article.published_at
    )?;
    for r in records {
        let when = match r.date.modifier {
            Some(m) => format!("{} {}", r.date.value, m.as_str()),
            None => r.date.value.clone(),
        };
        writeln!(
            out,
            "  {:<22} {:<10} {} [{}] \"{}\"",
            when,
            format!("{:?}", r.event.modality).to_lowercase(),
            r.event.trigger,
            r.event.phrase,
            r.date.text
        )?;
    }
    Ok(())
}
