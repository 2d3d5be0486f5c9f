//! Throughput of the pure path (tagger + event anchoring + ordering) on the TBAQ news text.
//!
//! `cargo bench --bench extract` prints MiB/s for the whole corpus processed article by article.

use std::path::Path;

use chrono::DateTime;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dateline::article::Article;
use dateline::{tagger, timeline};

/// The plain text of every TimeML document under `dir` (tags stripped, entities decoded).
fn corpus(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            out.extend(corpus(&p));
            continue;
        }
        let Ok(raw) = std::fs::read_to_string(&p) else {
            continue;
        };
        let body = match (raw.find("<TEXT>"), raw.find("</TEXT>")) {
            (Some(s), Some(e)) if s < e => &raw[s + 6..e],
            _ => continue,
        };
        let mut text = String::with_capacity(body.len());
        let mut in_tag = false;
        for c in body.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        out.push(
            text.replace("&amp;", "&")
                .replace("&lt;", "<")
                .replace("&gt;", ">"),
        );
    }
    out
}

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora/tbaq");
    let docs = corpus(&dir);
    let bytes: usize = docs.iter().map(String::len).sum();
    assert!(bytes > 0, "no TBAQ text under {}", dir.display());
    let reference = DateTime::parse_from_rfc3339("1998-02-27T12:00:00+00:00").expect("valid");
    let articles: Vec<Article> = docs
        .iter()
        .enumerate()
        .map(|(i, text)| Article {
            id: format!("doc-{i}"),
            published_at: reference,
            text: text.clone(),
            title: None,
            source: None,
            url: None,
            lang: None,
        })
        .collect();

    let mut group = c.benchmark_group("tbaq");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(20);
    group.bench_function("tag", |b| {
        b.iter(|| {
            docs.iter()
                .map(|d| tagger::tag(d, reference).len())
                .sum::<usize>()
        })
    });
    group.bench_function("extract", |b| {
        b.iter(|| {
            articles
                .iter()
                .map(|a| timeline::extract(a).len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
