//! `annotate`: a TimeML document's gold annotation out, dateline's TIMEX3 tags in.
//!
//! The output is what the TempEval-3 scorer (`TE3-evaluation.py`) expects of a system: the same
//! file with only the `TIMEX3` tags of `<TEXT>` being the system's. Concretely:
//! - inside `<TEXT>`, the gold `TIMEX3`, `EVENT`, `SIGNAL` (and any link) tags are removed and the
//!   tagger's `TIMEX3`s inserted; every other byte stays as it was, entities still escaped;
//! - outside `<TEXT>`, the `MAKEINSTANCE`/`TLINK`/`SLINK`/`ALINK` elements are removed (with their
//!   line when they stand alone on it), since they point at the removed events and times, and so
//!   are the `EVENT`/`SIGNAL` tags some TimeBank files have in headlines and `EXTRAINFO` (the
//!   scorer reads those from the whole file); everything else, the DCT included, stays
//!   byte-identical;
//! - new `tid`s continue after the DCT's (`t1`, `t2`, ... when the DCT is `t0`, which the scorer
//!   skips).

use std::ops::Range;

use super::doc::{DctError, Document, ParseError, TimexTag};
use super::xml::escape;

/// Why a document could not be annotated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnotateError {
    /// The file is not TimeML this reader understands.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// There is no document creation time to resolve relative expressions against.
    #[error("no document creation time (a TIMEX3 with functionInDocument=\"CREATION_TIME\")")]
    NoDct,
    /// The creation time is not a date.
    #[error(transparent)]
    Dct(#[from] DctError),
}

/// Parses `raw`, tags its text and returns the annotated file. See the [module docs](self).
pub fn annotate_document(raw: &str) -> Result<String, AnnotateError> {
    let doc = Document::parse(raw)?;
    let timexes = system_timexes(&doc)?;
    Ok(render(&doc, &timexes))
}

/// The TIMEX3s dateline writes into `doc`: the tagger's output on the plain text, with the DCT
/// as reference time, passed through [`place`]. Scoring these is the same as scoring the file
/// [`annotate_document`] writes.
pub fn system_timexes(doc: &Document) -> Result<Vec<TimexTag>, AnnotateError> {
    let reference = doc.dct().ok_or(AnnotateError::NoDct)?.reference_time()?;
    let found = crate::tagger::tag(doc.text(), reference);
    Ok(place(
        doc,
        found.into_iter().map(|t| TimexTag {
            tid: String::new(),
            kind: t.kind.as_str().to_owned(),
            value: t.value,
            modifier: t.modifier.map(|m| m.as_str().to_owned()),
            span: t.span,
            text: t.text,
        }),
    ))
}

/// The timexes that can be written into `doc`, in order, with the spans they will have:
/// each span snapped outward to entity and char boundaries; blank spans, spans overlapping an
/// earlier one and spans that would cross markup that stays are dropped; `tid`s renumbered from
/// [`Document::next_tid`] and `text` set from the document.
pub fn place(doc: &Document, timexes: impl IntoIterator<Item = TimexTag>) -> Vec<TimexTag> {
    let mut timexes: Vec<TimexTag> = timexes.into_iter().collect();
    timexes.sort_by_key(|t| (t.span.start, t.span.end));
    let mut placed: Vec<TimexTag> = Vec::with_capacity(timexes.len());
    let mut tid = doc.next_tid();
    for mut t in timexes {
        let Some((span, _)) = doc.locate(t.span.clone()) else {
            continue;
        };
        let text = doc.text().get(span.clone()).unwrap_or_default();
        let overlaps = placed.last().is_some_and(|p| p.span.end > span.start);
        if text.trim().is_empty() || overlaps {
            continue;
        }
        t.text = text.to_owned();
        t.span = span;
        t.tid = format!("t{tid}");
        tid += 1;
        placed.push(t);
    }
    placed
}

/// The document without its gold annotation: what [`render`] writes with no timexes.
pub fn strip(doc: &Document) -> String {
    render(doc, &[])
}

/// Writes `doc` with its gold annotation replaced by `timexes`, which should come from
/// [`place`] (a span it would drop is skipped).
pub fn render(doc: &Document, timexes: &[TimexTag]) -> String {
    let raw = doc.raw();
    // (position, order at that position, edit): closing tags go before removals, removals
    // before opening tags, so that adjacent timexes nest correctly.
    let mut edits: Vec<(usize, u8, Edit)> = Vec::new();
    for range in doc.annotation_tags() {
        edits.push((range.start, 1, Edit::Remove(range.clone())));
    }
    for range in doc.link_tags() {
        let range = whole_line(raw, range.clone());
        edits.push((range.start, 1, Edit::Remove(range)));
    }
    for t in timexes {
        let Some((_, at)) = doc.locate(t.span.clone()) else {
            continue;
        };
        edits.push((at.start, 2, Edit::Insert(open_tag(t))));
        edits.push((at.end, 0, Edit::Insert("</TIMEX3>".to_owned())));
    }
    edits.sort_by_key(|(pos, order, _)| (*pos, *order));
    let mut out = String::with_capacity(raw.len() + timexes.len() * 64);
    let mut cursor = 0;
    for (pos, _, edit) in edits {
        if pos > cursor {
            out.push_str(raw.get(cursor..pos).unwrap_or_default());
            cursor = pos;
        }
        match edit {
            Edit::Insert(s) => out.push_str(&s),
            Edit::Remove(range) => cursor = cursor.max(range.end),
        }
    }
    out.push_str(raw.get(cursor..).unwrap_or_default());
    out
}

enum Edit {
    Insert(String),
    Remove(Range<usize>),
}

/// `<TIMEX3 tid=".." type=".." value=".." [mod=".."]>`, attribute values escaped.
fn open_tag(t: &TimexTag) -> String {
    let mut tag = format!(
        "<TIMEX3 tid=\"{}\" type=\"{}\" value=\"{}\"",
        escape(&t.tid),
        escape(&t.kind),
        escape(&t.value)
    );
    if let Some(m) = &t.modifier {
        tag.push_str(&format!(" mod=\"{}\"", escape(m)));
    }
    tag.push('>');
    tag
}

/// `range` grown to its whole line, line break included, when nothing else is on that line.
fn whole_line(raw: &str, range: Range<usize>) -> Range<usize> {
    let blank = |s: &str| s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r'));
    let before = raw.get(..range.start).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let after = raw.get(range.end..).unwrap_or_default();
    let line_end = after.find('\n').map_or(raw.len(), |i| range.end + i + 1);
    let (head, tail) = (
        raw.get(line_start..range.start).unwrap_or_default(),
        raw.get(range.end..line_end).unwrap_or_default(),
    );
    if blank(head) && blank(tail.trim_end_matches('\n')) {
        line_start..line_end
    } else {
        range
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = concat!(
        "<?xml version=\"1.0\" ?>\n<TimeML>\n",
        "<DCT><TIMEX3 tid=\"t0\" type=\"DATE\" value=\"1998-02-27\" ",
        "functionInDocument=\"CREATION_TIME\">02/27/98</TIMEX3></DCT>\n",
        "<TEXT>\nAT&amp;T <EVENT eid=\"e1\">said</EVENT> on ",
        "<TIMEX3 tid=\"t1\" type=\"DATE\" value=\"1998-02-23\">Monday</TIMEX3>",
        "<SIGNAL sid=\"s1\">-</SIGNAL>Tuesday.\n",
        "</TEXT>\n<TLINK lid=\"l1\" relType=\"BEFORE\" timeID=\"t1\" relatedToTime=\"t0\"/>\n",
        "<MAKEINSTANCE eiid=\"ei1\" eventID=\"e1\" />\n</TimeML>\n",
    );

    fn timex(span: Range<usize>, kind: &str, value: &str) -> TimexTag {
        TimexTag {
            tid: String::new(),
            kind: kind.to_owned(),
            value: value.to_owned(),
            modifier: None,
            span,
            text: String::new(),
        }
    }

    #[test]
    fn strip_removes_gold_annotation_only() {
        let doc = Document::parse(DOC).unwrap();
        let stripped = strip(&doc);
        assert_eq!(
            stripped,
            concat!(
                "<?xml version=\"1.0\" ?>\n<TimeML>\n",
                "<DCT><TIMEX3 tid=\"t0\" type=\"DATE\" value=\"1998-02-27\" ",
                "functionInDocument=\"CREATION_TIME\">02/27/98</TIMEX3></DCT>\n",
                "<TEXT>\nAT&amp;T said on Monday-Tuesday.\n</TEXT>\n</TimeML>\n",
            )
        );
    }

    #[test]
    fn adjacent_timexes_and_entities() {
        let doc = Document::parse(DOC).unwrap();
        let text = doc.text();
        let monday = text.find("Monday").unwrap();
        let tuesday = text.find("Tuesday").unwrap();
        let mut att = timex(1..5, "DATE", "a\"<&>");
        att.modifier = Some("START".into());
        let placed = place(
            &doc,
            [
                timex(tuesday..tuesday + 7, "DATE", "1998-02-24"),
                timex(monday..monday + 6, "DATE", "1998-02-23"),
                timex(monday + 1..monday + 3, "DATE", "overlaps"),
                att,
            ],
        );
        let tids: Vec<&str> = placed.iter().map(|t| t.tid.as_str()).collect();
        assert_eq!(tids, ["t1", "t2", "t3"]);
        assert_eq!(placed[0].text, "AT&T");
        let out = render(&doc, &placed);
        assert!(out.contains(concat!(
            "<TEXT>\n<TIMEX3 tid=\"t1\" type=\"DATE\" value=\"a&quot;&lt;&amp;&gt;\" mod=\"START\">",
            "AT&amp;T</TIMEX3> said on <TIMEX3 tid=\"t2\" type=\"DATE\" value=\"1998-02-23\">",
            "Monday</TIMEX3>-<TIMEX3 tid=\"t3\" type=\"DATE\" value=\"1998-02-24\">Tuesday</TIMEX3>.",
        )));
        let again = Document::parse(out).unwrap();
        assert_eq!(again.text(), doc.text());
        assert_eq!(again.timexes(), placed.as_slice());
    }

    #[test]
    fn link_lines_go_whole() {
        let raw = "a\n  <TLINK x=\"1\"/>  \r\nb<TLINK/>c\n<TLINK/>";
        let tag = |from: usize| {
            let start = from + raw[from..].find('<').unwrap();
            start..start + raw[start..].find('>').unwrap() + 1
        };
        let first = tag(0);
        assert_eq!(
            &raw[whole_line(raw, first.clone())],
            "  <TLINK x=\"1\"/>  \r\n"
        );
        let inline = tag(first.end);
        assert_eq!(&raw[whole_line(raw, inline.clone())], "<TLINK/>");
        let last = tag(inline.end);
        assert_eq!(whole_line(raw, last.clone()), last.start..raw.len());
    }
}
