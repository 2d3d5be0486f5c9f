//! Reading a TimeML document (TimeBank, AQUAINT, TempEval-3, WikiWars).
//!
//! A [`Document`] holds the file as read plus what the other `timeml` modules need:
//! - the document creation time (the `TIMEX3` with `functionInDocument="CREATION_TIME"`, usually
//!   inside `<DCT>`), the reference time of the tagger;
//! - the plain text of `<TEXT>`: tags removed, entities decoded;
//! - the gold `TIMEX3`s inside `<TEXT>`, with spans in plain-text byte offsets;
//! - a map from plain-text offsets back to byte offsets of the file, so that `annotate` can put
//!   tags into the file without touching a byte of the text around them.

use std::ops::Range;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use serde::Serialize;

use super::xml::{self, TagKind, Token, XmlError};

/// Elements of the TimeML annotation that `annotate` replaces: inside `<TEXT>` their tags are
/// removed (their text stays); outside it, `EVENT` and `SIGNAL` tags are removed too, and the
/// link elements whole. The DCT stays.
pub const ANNOTATION_ELEMENTS: [&str; 7] = [
    "TIMEX3",
    "EVENT",
    "SIGNAL",
    "MAKEINSTANCE",
    "TLINK",
    "SLINK",
    "ALINK",
];

/// The link elements, which refer to events and times by id and go with the gold annotation.
const LINK_ELEMENTS: [&str; 4] = ["MAKEINSTANCE", "TLINK", "SLINK", "ALINK"];

/// A `TIMEX3` tag with its span in the plain text of `<TEXT>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimexTag {
    /// `tid`, e.g. `t12`; empty when the tag has none.
    pub tid: String,
    /// `type`: `DATE`, `TIME`, `DURATION` or `SET`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `value`, e.g. `1998-02-27`, `P3D`, `PRESENT_REF`.
    pub value: String,
    /// `mod`, e.g. `START`, if any.
    #[serde(rename = "mod", skip_serializing_if = "Option::is_none")]
    pub modifier: Option<String>,
    /// Byte offsets into [`Document::text`].
    pub span: Range<usize>,
    /// The covered plain text.
    pub text: String,
}

/// The document creation time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dct {
    /// Its `tid` (normally `t0`).
    pub tid: Option<String>,
    /// Its `value`, a date (`1998-02-27`) or a date and time (`1998-02-27T10:15`).
    pub value: String,
}

/// A DCT value that is not a date or date and time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("DCT value {0:?} is not a date (YYYY-MM-DD) or date and time")]
pub struct DctError(pub String);

impl Dct {
    /// The DCT as the tagger's reference time. A value without a UTC offset is taken as UTC,
    /// and a date alone as its midnight: `1998-02-27` -> `1998-02-27T00:00:00+00:00`.
    pub fn reference_time(&self) -> Result<DateTime<FixedOffset>, DctError> {
        let value = self.value.trim();
        let utc = FixedOffset::east_opt(0).ok_or_else(|| DctError(self.value.clone()))?;
        if let Ok(t) = DateTime::parse_from_rfc3339(value) {
            return Ok(t);
        }
        for format in ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"] {
            if let Ok(t) = DateTime::parse_from_str(value, format) {
                return Ok(t);
            }
        }
        for format in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S",
        ] {
            if let Ok(t) = NaiveDateTime::parse_from_str(value, format) {
                return Ok(t.and_utc().with_timezone(&utc));
            }
        }
        for format in ["%Y-%m-%d", "%Y%m%d"] {
            if let Ok(d) = NaiveDate::parse_from_str(value, format) {
                return Ok(d
                    .and_time(chrono::NaiveTime::MIN)
                    .and_utc()
                    .with_timezone(&utc));
            }
        }
        Err(DctError(self.value.clone()))
    }
}

/// Why a file is not a TimeML document this reader understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// A `<` with no closing `>`.
    #[error("markup is never closed")]
    Unclosed,
    /// A tag that does not follow XML syntax.
    #[error("malformed tag")]
    BadTag,
    /// An `&` that is not one of the five XML entities or a character reference.
    #[error("unknown or malformed entity")]
    BadEntity,
    /// An end tag that does not match the open element.
    #[error("</{found}> does not close <{expected}>")]
    Mismatched {
        /// The open element.
        expected: String,
        /// The end tag found.
        found: String,
    },
    /// An end tag with no open element.
    #[error("</{0}> closes nothing")]
    Unopened(String),
    /// An element still open at the end of the file.
    #[error("<{0}> is never closed")]
    NotClosed(String),
    /// No `<TEXT>` element.
    #[error("no <TEXT> element")]
    NoText,
    /// A CDATA section inside `<TEXT>`, where offsets could not be mapped back.
    #[error("CDATA inside <TEXT> is not supported")]
    Cdata,
}

/// A file that could not be read as TimeML, with where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct ParseError {
    kind: ParseErrorKind,
    offset: usize,
    line: usize,
}

impl ParseError {
    /// What went wrong.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }

    /// Byte offset in the file.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// 1-based line number in the file.
    pub fn line(&self) -> usize {
        self.line
    }

    fn new(raw: &str, kind: ParseErrorKind, offset: usize) -> ParseError {
        let offset = offset.min(raw.len());
        let line = raw.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        ParseError { kind, offset, line }
    }
}

/// A run of plain text and the bytes of the file it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    plain: usize,
    raw: usize,
    plain_len: usize,
    raw_len: usize,
    /// Literal text maps byte for byte; an entity is atomic (`&amp;` is one plain byte).
    literal: bool,
}

impl Segment {
    fn plain_end(&self) -> usize {
        self.plain + self.plain_len
    }
}

/// A parsed TimeML document. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Document {
    raw: String,
    dct: Option<Dct>,
    /// Byte range, in `raw`, of the content of `<TEXT>` (between its tags).
    text_range: Range<usize>,
    text: String,
    timexes: Vec<TimexTag>,
    /// Plain text pieces in order; they tile `text` without gaps.
    segments: Vec<Segment>,
    /// Raw ranges of the annotation tags whose content stays: inside `<TEXT>` all but the DCT,
    /// outside it EVENT and SIGNAL.
    annotation_tags: Vec<Range<usize>>,
    /// Raw ranges of link tags (MAKEINSTANCE, TLINK, ...) outside `<TEXT>`.
    link_tags: Vec<Range<usize>>,
    /// Tags inside `<TEXT>` that stay (the DCT if it is there, foreign markup); a new tag must
    /// not cross them.
    kept_tags: Vec<(Range<usize>, TagKind)>,
    /// One more than the largest numeric `tid` among the TIMEX3s that stay.
    next_tid: u64,
}

/// Role of an open element while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Text,
    /// A gold TIMEX3 inside TEXT: index into `timexes`.
    Timex(usize),
    /// Another annotation element: inside TEXT, or an EVENT or SIGNAL outside it.
    Annotation,
    /// Markup inside TEXT that stays.
    Kept,
    /// Anything outside TEXT.
    Outside,
}

impl Document {
    /// Parses a TimeML file.
    pub fn parse(raw: impl Into<String>) -> Result<Document, ParseError> {
        let mut doc = Document {
            raw: raw.into(),
            dct: None,
            text_range: 0..0,
            text: String::new(),
            timexes: Vec::new(),
            segments: Vec::new(),
            annotation_tags: Vec::new(),
            link_tags: Vec::new(),
            kept_tags: Vec::new(),
            next_tid: 1,
        };
        let raw = std::mem::take(&mut doc.raw);
        let result = doc.read(&raw);
        doc.raw = raw;
        result.map(|()| doc)
    }

    fn read(&mut self, raw: &str) -> Result<(), ParseError> {
        let err = |kind, offset| ParseError::new(raw, kind, offset);
        let mut stack: Vec<(&str, usize, Role)> = Vec::new();
        let mut text_seen = false;
        let mut in_text = false;
        let mut max_tid: Option<u64> = None;
        for token in xml::tokens(raw) {
            let token = token.map_err(|e| {
                let kind = match e {
                    XmlError::Unclosed(_) => ParseErrorKind::Unclosed,
                    XmlError::BadTag(_) => ParseErrorKind::BadTag,
                    XmlError::BadEntity(_) => ParseErrorKind::BadEntity,
                };
                err(kind, e.offset())
            })?;
            let tag = match token {
                Token::Text(range) => {
                    if in_text {
                        self.push_text(raw, range)?;
                    }
                    continue;
                }
                Token::Cdata(range) if in_text => {
                    return Err(err(ParseErrorKind::Cdata, range.start));
                }
                Token::Cdata(_) | Token::Other(_) => continue,
                Token::Tag(tag) => tag,
            };
            if tag.kind == TagKind::End {
                let Some((name, _, role)) = stack.pop() else {
                    return Err(err(
                        ParseErrorKind::Unopened(tag.name.to_owned()),
                        tag.range.start,
                    ));
                };
                if name != tag.name {
                    let kind = ParseErrorKind::Mismatched {
                        expected: name.to_owned(),
                        found: tag.name.to_owned(),
                    };
                    return Err(err(kind, tag.range.start));
                }
                match role {
                    Role::Text => {
                        in_text = false;
                        self.text_range.end = tag.range.start;
                    }
                    Role::Timex(i) => {
                        self.close_timex(i);
                        self.annotation_tags.push(tag.range);
                    }
                    Role::Annotation => self.annotation_tags.push(tag.range),
                    Role::Kept => self.kept_tags.push((tag.range, TagKind::End)),
                    Role::Outside => {}
                }
                continue;
            }
            let creation_time = tag.name == "TIMEX3"
                && tag.attr("functionInDocument") == Some("CREATION_TIME")
                && self.dct.is_none();
            if creation_time {
                self.dct = Some(Dct {
                    tid: tag.attr("tid").map(str::to_owned),
                    value: tag.attr("value").unwrap_or_default().to_owned(),
                });
            }
            let role = if !in_text {
                if tag.name == "TEXT" && !text_seen {
                    text_seen = true;
                    in_text = tag.kind == TagKind::Start;
                    self.text_range = tag.range.end..tag.range.end;
                    Role::Text
                } else if LINK_ELEMENTS.contains(&tag.name) {
                    self.link_tags.push(tag.range.clone());
                    Role::Outside
                } else if matches!(tag.name, "EVENT" | "SIGNAL") {
                    // Gold events also turn up in headlines and EXTRAINFO.
                    self.annotation_tags.push(tag.range.clone());
                    Role::Annotation
                } else {
                    Role::Outside
                }
            } else if tag.name == "TIMEX3" && !creation_time {
                self.timexes.push(TimexTag {
                    tid: tag.attr("tid").unwrap_or_default().to_owned(),
                    kind: tag.attr("type").unwrap_or_default().to_owned(),
                    value: tag.attr("value").unwrap_or_default().to_owned(),
                    modifier: tag.attr("mod").map(str::to_owned),
                    span: self.text.len()..self.text.len(),
                    text: String::new(),
                });
                self.annotation_tags.push(tag.range.clone());
                Role::Timex(self.timexes.len() - 1)
            } else if ANNOTATION_ELEMENTS.contains(&tag.name) && !creation_time {
                self.annotation_tags.push(tag.range.clone());
                Role::Annotation
            } else {
                self.kept_tags.push((tag.range.clone(), tag.kind));
                Role::Kept
            };
            let stays = tag.name == "TIMEX3" && (!in_text || creation_time);
            if stays {
                let tid = tag
                    .attr("tid")
                    .and_then(|t| t.trim_start_matches('t').parse().ok());
                max_tid = max_tid.max(tid);
            }
            if tag.kind == TagKind::Start {
                stack.push((tag.name, tag.range.start, role));
            }
        }
        if let Some((name, start, _)) = stack.pop() {
            return Err(err(ParseErrorKind::NotClosed(name.to_owned()), start));
        }
        if !text_seen {
            return Err(err(ParseErrorKind::NoText, raw.len()));
        }
        self.next_tid = max_tid.map_or(1, |t| t.saturating_add(1));
        Ok(())
    }

    fn close_timex(&mut self, i: usize) {
        let end = self.text.len();
        if let Some(t) = self.timexes.get_mut(i) {
            t.span.end = end;
            t.text = self.text.get(t.span.clone()).unwrap_or_default().to_owned();
        }
    }

    /// Appends the character data at `range` of `raw` to the plain text.
    fn push_text(&mut self, raw: &str, range: Range<usize>) -> Result<(), ParseError> {
        let mut pos = range.start;
        let literal = |doc: &mut Document, from: usize, to: usize| {
            if to > from {
                doc.segments.push(Segment {
                    plain: doc.text.len(),
                    raw: from,
                    plain_len: to - from,
                    raw_len: to - from,
                    literal: true,
                });
                doc.text.push_str(&raw[from..to]);
            }
        };
        while let Some(i) = raw[pos..range.end].find('&') {
            let amp = pos + i;
            literal(self, pos, amp);
            let (len, c) = xml::entity(&raw[amp..range.end])
                .ok_or_else(|| ParseError::new(raw, ParseErrorKind::BadEntity, amp))?;
            self.segments.push(Segment {
                plain: self.text.len(),
                raw: amp,
                plain_len: c.len_utf8(),
                raw_len: len,
                literal: false,
            });
            self.text.push(c);
            pos = amp + len;
        }
        literal(self, pos, range.end);
        Ok(())
    }

    /// The file as read.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The document creation time, if the file has one.
    pub fn dct(&self) -> Option<&Dct> {
        self.dct.as_ref()
    }

    /// The plain text of `<TEXT>`: tags removed, entities decoded, nothing else changed.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Byte range of the content of `<TEXT>` in [`raw`](Self::raw).
    pub fn text_range(&self) -> Range<usize> {
        self.text_range.clone()
    }

    /// The `TIMEX3`s inside `<TEXT>` in document order, except a creation-time one.
    pub fn timexes(&self) -> &[TimexTag] {
        &self.timexes
    }

    /// Raw byte ranges, in order, of the gold annotation tags whose content stays: inside
    /// `<TEXT>` those of [`ANNOTATION_ELEMENTS`] except the DCT, outside it `EVENT` and `SIGNAL`
    /// (TimeBank also marks events in headlines and `EXTRAINFO`).
    pub fn annotation_tags(&self) -> &[Range<usize>] {
        &self.annotation_tags
    }

    /// Raw byte ranges of the link tags (MAKEINSTANCE, TLINK, SLINK, ALINK) outside `<TEXT>`.
    pub fn link_tags(&self) -> &[Range<usize>] {
        &self.link_tags
    }

    /// The first free numeric `tid` once the gold TIMEX3s of `<TEXT>` are gone: one more than
    /// the DCT's (and any other TIMEX3 that stays).
    pub fn next_tid(&self) -> u64 {
        self.next_tid
    }

    /// Where a plain-text span goes in the file: `(plain, raw)`, the span snapped outward to
    /// char and entity boundaries and the raw range to put an opening tag before and a closing
    /// tag after. The raw range never starts or ends inside an entity or a tag, and never
    /// crosses an element that stays. `None` for an empty or out-of-range span, or one that
    /// would cross such an element.
    pub fn locate(&self, span: Range<usize>) -> Option<(Range<usize>, Range<usize>)> {
        let (mut start, mut end) = (span.start, span.end);
        if start >= end || end > self.text.len() {
            return None;
        }
        while !self.text.is_char_boundary(start) {
            start -= 1;
        }
        while !self.text.is_char_boundary(end) {
            end += 1;
        }
        // The segment holding the first byte, and the one holding the last.
        let first = self.segments.partition_point(|s| s.plain_end() <= start);
        let last = self
            .segments
            .partition_point(|s| s.plain < end)
            .checked_sub(1)?;
        let (a, b) = (self.segments.get(first)?, self.segments.get(last)?);
        let (plain_start, raw_start) = if a.literal {
            (start, a.raw + (start - a.plain))
        } else {
            (a.plain, a.raw)
        };
        let (plain_end, raw_end) = if b.literal {
            (end, b.raw + (end - b.plain))
        } else {
            (b.plain_end(), b.raw + b.raw_len)
        };
        if self.crosses_kept(raw_start..raw_end) {
            return None;
        }
        Some((plain_start..plain_end, raw_start..raw_end))
    }

    /// Whether wrapping `raw` in a new element would cross an element that stays.
    fn crosses_kept(&self, raw: Range<usize>) -> bool {
        let from = self.kept_tags.partition_point(|(r, _)| r.start < raw.start);
        let mut depth = 0usize;
        for (range, kind) in &self.kept_tags[from..] {
            if range.end > raw.end {
                break;
            }
            match kind {
                TagKind::Start => depth += 1,
                TagKind::End => match depth.checked_sub(1) {
                    Some(d) => depth = d,
                    None => return true,
                },
                TagKind::Empty => {}
            }
        }
        depth != 0
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
        "<TIMEX3 tid=\"t1\" type=\"DATE\" value=\"1998-02-23\">Monday</TIMEX3> &#8212;",
        "<TIMEX3 tid=\"t2\" type=\"DURATION\" value=\"P3D\" mod=\"APPROX\">about three days</TIMEX3>.\n",
        "</TEXT>\n<TLINK lid=\"l1\" relType=\"BEFORE\" timeID=\"t1\" relatedToTime=\"t0\"/>\n</TimeML>\n",
    );

    #[test]
    fn reads_dct_text_and_timexes() {
        let doc = Document::parse(DOC).unwrap();
        assert_eq!(doc.dct().unwrap().value, "1998-02-27");
        assert_eq!(doc.dct().unwrap().tid.as_deref(), Some("t0"));
        assert_eq!(
            doc.text(),
            "\nAT&T said on Monday \u{2014}about three days.\n"
        );
        let [monday, days] = doc.timexes() else {
            panic!("two timexes expected")
        };
        assert_eq!(
            (monday.span.clone(), monday.text.as_str()),
            (14..20, "Monday")
        );
        assert_eq!(&doc.text()[days.span.clone()], "about three days");
        assert_eq!(days.modifier.as_deref(), Some("APPROX"));
        assert_eq!(doc.annotation_tags().len(), 6);
        assert_eq!(doc.link_tags().len(), 1);
        assert_eq!(doc.next_tid(), 1);
    }

    #[test]
    fn locate_maps_and_snaps_out_of_entities() {
        let doc = Document::parse(DOC).unwrap();
        let raw = doc.raw();
        // "AT&T": starts in a literal, ends in one, with an entity between.
        let (plain, r) = doc.locate(1..5).unwrap();
        assert_eq!((plain, &raw[r]), (1..5, "AT&amp;T"));
        // Half of the em dash (a 3-byte character from a 7-byte reference) snaps outward.
        let dash = doc.text().find('\u{2014}').unwrap();
        let (plain, r) = doc.locate(dash + 1..dash + 3).unwrap();
        assert_eq!((plain, &raw[r]), (dash..dash + 3, "&#8212;"));
        // A span ending where a removed tag starts ends before it.
        let (_, r) = doc.locate(14..20).unwrap();
        assert_eq!(&raw[r], "Monday");
        assert_eq!(doc.locate(3..3), None);
        assert_eq!(doc.locate(0..1000), None);
    }

    #[test]
    fn dct_values_become_reference_times() {
        let dct = |v: &str| Dct {
            tid: None,
            value: v.to_owned(),
        };
        let time = |v: &str| dct(v).reference_time().map(|t| t.to_rfc3339());
        assert_eq!(time("1998-02-27").unwrap(), "1998-02-27T00:00:00+00:00");
        assert_eq!(
            time("1998-02-27T10:15").unwrap(),
            "1998-02-27T10:15:00+00:00"
        );
        assert_eq!(
            time("1998-05-01T09:13:00").unwrap(),
            "1998-05-01T09:13:00+00:00"
        );
        assert_eq!(
            time("2019-12-17T06:11:00+09:00").unwrap(),
            "2019-12-17T06:11:00+09:00"
        );
        assert!(time("August 11").is_err());
    }

    #[test]
    fn malformed_files_say_where() {
        let e = Document::parse("<A>\n<TEXT>x</B></TEXT></A>").unwrap_err();
        assert_eq!(e.line(), 2);
        assert!(matches!(e.kind(), ParseErrorKind::Mismatched { .. }));
        let e = Document::parse("<A><B>x</B></A>").unwrap_err();
        assert_eq!(e.kind(), &ParseErrorKind::NoText);
        let e = Document::parse("<A><TEXT>a & b</TEXT></A>").unwrap_err();
        assert_eq!((e.kind(), e.offset()), (&ParseErrorKind::BadEntity, 11));
        let e = Document::parse("<A><TEXT>x</TEXT>").unwrap_err();
        assert_eq!(e.kind(), &ParseErrorKind::NotClosed("A".into()));
    }

    #[test]
    fn kept_markup_is_not_crossed() {
        let doc = Document::parse("<TEXT><s>Monday</s> <s>morning</s> <b>x</b> y</TEXT>").unwrap();
        assert_eq!(doc.text(), "Monday morning x y");
        assert_eq!(doc.locate(0..14), None);
        let (_, r) = doc.locate(0..6).unwrap();
        assert_eq!(&doc.raw()[r], "Monday");
        // A whole element inside the span is fine; half of one is not.
        let (_, r) = doc.locate(14..18).unwrap();
        assert_eq!(&doc.raw()[r], " <b>x</b> y");
        assert_eq!(doc.locate(14..16), None);
    }
}
