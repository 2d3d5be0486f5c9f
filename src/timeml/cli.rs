//! `dateline annotate` and `dateline eval`: files in, files or scores out.
//!
//! Thin glue over [`super::annotate`] and [`super::eval`]: walking folders, pairing documents by
//! relative path, printing. A document that fails is reported on stderr and makes the exit
//! code 1; the others are still written or scored.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

use super::annotate;
use super::doc::{Document, TimexTag};
use super::eval::{self, Comparison, Counts, GroupScores, Mismatch, Scores};

/// Arguments of `dateline annotate`.
#[derive(Debug, clap::Args)]
pub struct AnnotateArgs {
    /// TimeML documents to tag: a folder, searched recursively for `*.tml`, or one file.
    #[arg(long = "timeml", value_name = "IN_DIR")]
    pub timeml: PathBuf,
    /// Where to write the tagged documents, at the same paths relative to IN_DIR.
    #[arg(value_name = "OUT_DIR")]
    pub out_dir: PathBuf,
}

/// Arguments of `dateline eval`.
#[derive(Debug, clap::Args)]
#[command(override_usage = "dateline eval [--errors] [--json] GOLD_DIR (SYS_DIR | --tag)")]
pub struct EvalArgs {
    /// Gold TimeML: a folder, searched recursively for `*.tml`, or one file.
    #[arg(value_name = "GOLD_DIR")]
    pub gold: PathBuf,
    /// System TimeML, paired with the gold documents by relative path (as `annotate` writes).
    #[arg(
        value_name = "SYS_DIR",
        required_unless_present = "tag",
        conflicts_with = "tag"
    )]
    pub system: Option<PathBuf>,
    /// Tag the gold documents' text in memory and score that, instead of reading SYS_DIR.
    #[arg(long)]
    pub tag: bool,
    /// Also list, per document, the missing, spurious and wrong timexes.
    #[arg(long)]
    pub errors: bool,
    /// Print the numbers (and, with --errors, the mismatches) as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `dateline annotate`.
pub fn annotate(args: AnnotateArgs) -> anyhow::Result<ExitCode> {
    let files = tml_files(&args.timeml)?;
    if same_dir(&args.timeml, &args.out_dir) {
        bail!("OUT_DIR must differ from IN_DIR: annotating would overwrite the gold files");
    }
    let (mut failed, mut timexes) = (0usize, 0usize);
    for rel in &files {
        let src = input_path(&args.timeml, rel);
        let dst = args.out_dir.join(rel);
        let result = read(&src).and_then(|raw| {
            let doc = Document::parse(raw)?;
            let found = annotate::system_timexes(&doc)?;
            let out = annotate::render(&doc, &found);
            if let Some(dir) = dst.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::write(&dst, out).with_context(|| format!("writing {}", dst.display()))?;
            Ok(found.len())
        });
        match result {
            Ok(n) => timexes += n,
            Err(error) => {
                failed += 1;
                eprintln!("{}: {error:#}", src.display());
            }
        }
    }
    eprintln!(
        "annotated {} of {} documents ({timexes} TIMEX3) into {}",
        files.len() - failed,
        files.len(),
        args.out_dir.display()
    );
    Ok(exit_code(failed))
}

/// One scored document.
struct Scored {
    rel: PathBuf,
    text: String,
    comparison: Comparison,
}

/// Runs `dateline eval`.
pub fn eval(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let files = tml_files(&args.gold)?;
    let mut scored = Vec::with_capacity(files.len());
    let mut failures: Vec<(PathBuf, String)> = Vec::new();
    for rel in &files {
        match score_one(&args, rel) {
            Ok(s) => scored.push(s),
            Err(error) => failures.push((rel.clone(), format!("{error:#}"))),
        }
    }
    if let Some(system) = args.system.as_deref().filter(|p| p.is_dir()) {
        let extra = tml_files(system)
            .unwrap_or_default()
            .into_iter()
            .filter(|rel| !files.contains(rel))
            .count();
        if extra > 0 {
            eprintln!("note: {extra} system documents have no gold document and were ignored");
        }
    }
    for (rel, error) in &failures {
        eprintln!("{}: {error}", rel.display());
    }
    if scored.is_empty() {
        bail!("none of the {} gold documents could be scored", files.len());
    }
    let (total, groups) = aggregate(&scored);
    let mut out = String::new();
    if args.json {
        out = json(&args, &scored, &total, &groups, &failures)?;
    } else {
        if args.errors {
            for s in scored
                .iter()
                .filter(|s| !s.comparison.mismatches.is_empty())
            {
                out.push_str(&format!("== {}\n", s.rel.display()));
                out.push_str(&eval::render_mismatches(&s.text, &s.comparison.mismatches));
            }
            out.push('\n');
        }
        out.push_str(&eval::render_table(scored.len(), &total, &groups));
    }
    emit(&out)?;
    if !failures.is_empty() {
        eprintln!("{} documents could not be scored (above)", failures.len());
    }
    Ok(exit_code(failures.len()))
}

/// Compares one gold document with its system counterpart (or the tagger's output).
fn score_one(args: &EvalArgs, rel: &Path) -> anyhow::Result<Scored> {
    let gold_path = input_path(&args.gold, rel);
    let gold = Document::parse(read(&gold_path)?).context("gold")?;
    let system: Vec<TimexTag> = match &args.system {
        None => annotate::system_timexes(&gold).context("tagging")?,
        Some(root) => {
            let path = if root.is_file() {
                root.clone()
            } else {
                root.join(rel)
            };
            let doc = Document::parse(read(&path)?)
                .with_context(|| format!("system {}", path.display()))?;
            eval::same_text(&gold, &doc)?;
            doc.timexes().to_vec()
        }
    };
    let comparison = eval::compare(gold.timexes(), &system);
    Ok(Scored {
        rel: rel.to_path_buf(),
        text: gold.text().to_owned(),
        comparison,
    })
}

/// Total scores, and scores per top folder when documents sit in folders.
fn aggregate(scored: &[Scored]) -> (Scores, Vec<GroupScores>) {
    let mut total = Counts::default();
    let mut groups: Vec<(String, usize, Counts)> = Vec::new();
    for s in scored {
        total += s.comparison.counts;
        let mut parts = s.rel.components();
        let name = match (parts.next(), parts.next()) {
            (Some(first), Some(_)) => first.as_os_str().to_string_lossy().into_owned(),
            _ => ".".to_owned(),
        };
        match groups.iter_mut().find(|(n, _, _)| *n == name) {
            Some((_, docs, counts)) => {
                *docs += 1;
                *counts += s.comparison.counts;
            }
            None => groups.push((name, 1, s.comparison.counts)),
        }
    }
    let groups = groups
        .into_iter()
        .map(|(name, documents, counts)| GroupScores {
            name,
            documents,
            scores: Scores::from_counts(counts),
        })
        .collect();
    (Scores::from_counts(total), groups)
}

/// The scores (and, with `--errors`, the mismatches) as pretty JSON.
fn json(
    args: &EvalArgs,
    scored: &[Scored],
    total: &Scores,
    groups: &[GroupScores],
    failures: &[(PathBuf, String)],
) -> anyhow::Result<String> {
    #[derive(serde::Serialize)]
    struct DocErrors<'a> {
        document: String,
        mismatches: &'a [Mismatch],
    }
    let mut out = serde_json::json!({
        "documents": scored.len(),
        "scores": total,
        "groups": groups,
        "failed": failures
            .iter()
            .map(|(rel, error)| serde_json::json!({"document": rel, "error": error}))
            .collect::<Vec<_>>(),
    });
    if args.errors {
        let errors: Vec<DocErrors> = scored
            .iter()
            .filter(|s| !s.comparison.mismatches.is_empty())
            .map(|s| DocErrors {
                document: s.rel.display().to_string(),
                mismatches: &s.comparison.mismatches,
            })
            .collect();
        out["errors"] = serde_json::to_value(errors)?;
    }
    Ok(serde_json::to_string_pretty(&out)? + "\n")
}

/// Writes `s` to stdout; a closed pipe (`| head`) is not an error.
fn emit(s: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(s.as_bytes()).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => result.context("writing to stdout"),
    }
}

fn exit_code(failed: usize) -> ExitCode {
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8", path.display()))
}

/// `root` itself when it is a file, else `root/rel`.
fn input_path(root: &Path, rel: &Path) -> PathBuf {
    if root.is_file() {
        root.to_path_buf()
    } else {
        root.join(rel)
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The `*.tml` files under `root`, as sorted paths relative to it (hidden files skipped); for a
/// file, its name.
fn tml_files(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(root).with_context(|| format!("reading {}", root.display()))?;
    if meta.is_file() {
        let name = root.file_name().context("a file name")?;
        return Ok(vec![PathBuf::from(name)]);
    }
    let mut files = Vec::new();
    let mut dirs = vec![PathBuf::new()];
    while let Some(rel) = dirs.pop() {
        let dir = root.join(&rel);
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                dirs.push(rel.join(&name));
            } else if path.extension().is_some_and(|e| e == "tml") {
                files.push(rel.join(&name));
            }
        }
    }
    files.sort();
    if files.is_empty() {
        bail!("no .tml files under {}", root.display());
    }
    Ok(files)
}
