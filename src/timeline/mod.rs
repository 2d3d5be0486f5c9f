//! Timeline records: building them from an article, their order and their ids.
//!
//! ## Order
//! Records are sorted by the key `(end, start, span start)`: the last day the dated interval can
//! fall on, then its first day, then the position in the text. A fuzzy period therefore sorts at
//! the point by which it is over: "the end of 2019" (2019-09-01..2019-12-31) comes after
//! "Dec. 13, 2019", and "June 2018" after "June 12, 2018". For deadlines and periods this is
//! when the event is known to have happened, and it is total and deterministic.

pub mod bodies;
pub mod entry;
pub mod keys;
pub mod merge;
pub mod merge_eval;
pub mod record;
pub mod store;

use sha2::{Digest, Sha256};

use crate::article::Article;
use crate::events::{self, AnchoredEvent};
use crate::tagger;
pub use entry::{
    ENTRY_SCHEMA_VERSION, Position, SourceRef, TimelineEntry, TimelineSummary, TimelineView,
};
pub use record::{ArticleRef, DateInfo, EventInfo, SCHEMA_VERSION, TimelineRecord};

/// Runs the tagger and event anchoring on one article and returns its records in
/// chronological order.
pub fn extract(article: &Article) -> Vec<TimelineRecord> {
    let timexes = tagger::tag(&article.text, article.published_at);
    let published = article.published_at.date_naive();
    let anchored = events::anchor(&article.text, &timexes, published);
    let mut records: Vec<TimelineRecord> = anchored
        .into_iter()
        .filter_map(|ev| to_record(article, &timexes, ev))
        .collect();
    sort(&mut records);
    for (i, r) in records.iter_mut().enumerate() {
        r.seq = u32::try_from(i).unwrap_or(u32::MAX);
    }
    records
}

/// Sorts records by the documented key `(end, start, span start, value)`.
pub fn sort(records: &mut [TimelineRecord]) {
    records.sort_by(|a, b| {
        (a.date.end, a.date.start, a.date.span[0], &a.date.value).cmp(&(
            b.date.end,
            b.date.start,
            b.date.span[0],
            &b.date.value,
        ))
    });
}

/// The stable id of an event read from an article: it depends only on the article id, the span
/// and the resolved value.
pub fn event_id(article_id: &str, span: [usize; 2], value: &str) -> String {
    let mut h = Sha256::new();
    h.update(article_id.as_bytes());
    h.update([0]);
    h.update(span[0].to_le_bytes());
    h.update(span[1].to_le_bytes());
    h.update(value.as_bytes());
    let digest = h.finalize();
    format!("ev-{}", hex::encode(&digest[..8]))
}

fn to_record(
    article: &Article,
    timexes: &[tagger::Timex],
    ev: AnchoredEvent,
) -> Option<TimelineRecord> {
    let t = timexes.get(ev.timex)?;
    let (start, end) = t.interval?;
    let range = t.range.and_then(|r| {
        let other = timexes.get(r.other)?.interval?;
        Some(if r.is_start {
            [start, other.1]
        } else {
            [other.0, end]
        })
    });
    let span = [t.span.start, t.span.end];
    Some(TimelineRecord {
        schema_version: SCHEMA_VERSION,
        event_id: event_id(&article.id, span, &t.value),
        timeline: article.id.clone(),
        seq: 0,
        article: ArticleRef {
            id: article.id.clone(),
            published_at: article.published_at,
            source: article.source.clone(),
            url: article.url.clone(),
        },
        date: DateInfo {
            value: t.value.clone(),
            modifier: t.modifier,
            kind: t.kind,
            start,
            end,
            granularity: t.granularity,
            text: t.text.clone(),
            span,
            range,
        },
        event: ev.event,
    })
}
