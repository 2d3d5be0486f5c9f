//! Resolution: anchors each found expression to the reference time or to the last date
//! mentioned, using the tense of its sentence.
//!
//! - Explicit values ("June 2018") need no anchor.
//! - Deictic values ("last year", "on Monday", "Dec. 7") are anchored on the reference time. A
//!   missing year or week is chosen by tense: past tense takes the latest occurrence not after
//!   the reference, future tense the first not before it, and otherwise the nearest.
//! - Anaphoric values ("two days later", "that year", "October of that year") are anchored on
//!   the last date mentioned before them, or the reference time when there is none.

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, Weekday};

use super::calendar::{Cal, add_months, apply_mod};
use super::rules::Found;
use super::value::{Dir, Partial, Unit, YearRef};
use super::{Anchor, Granularity, Mod, RangeEnd, Timex, TimexType};

/// Tense of the clause around an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tense {
    /// Past or present perfect.
    Past,
    /// Future, planned or expected.
    Future,
    /// No cue.
    Unknown,
}

/// The state threaded through one document.
struct Ctx {
    /// The reference day, in the reference's own time zone.
    today: NaiveDate,
    /// The last calendar value mentioned (for anaphoric expressions).
    last: Option<Cal>,
    /// The text is a narrative of the past (most explicit years far from the reference): a date
    /// without a year takes the year of the story, not of the reference.
    narrative: bool,
    /// The last quarter named: the period under report in a results story, which "a year
    /// earlier" compares with even after a day ("the quarter ended Sept. 30") was mentioned.
    quarter: Option<Cal>,
}

/// Whether byte `at` of `text` lies inside a quotation: an odd number of double quotation marks
/// (`"`, `“`, `”`) before it in its paragraph (quotations do not run over line breaks, and one
/// stray mark upsets only its own paragraph), looking back a bounded window.
fn in_quote(text: &str, at: usize) -> bool {
    let before = super::window(text, at, at, 400).0;
    let para = before.rfind('\n').map_or(before, |i| &before[i + 1..]);
    para.chars()
        .filter(|c| matches!(c, '"' | '\u{201C}' | '\u{201D}'))
        .count()
        % 2
        == 1
}

/// Whether most explicit years of the text are far (more than two years) from the reference.
///
/// Deictic words inside quotations ("It is us today. It will be you tomorrow.") are the
/// speaker's, not the narrator's: they do not make a narrative of the past read as news.
fn is_narrative(text: &str, found: &[Found], reference_year: i32) -> bool {
    let years: Vec<i32> = found
        .iter()
        .filter_map(|f| match f.partial {
            Partial::Day {
                year: YearRef::Known(y),
                ..
            }
            | Partial::Month {
                year: YearRef::Known(y),
                ..
            }
            | Partial::Year(YearRef::Known(y))
            | Partial::Season {
                year: YearRef::Known(y),
                ..
            }
            | Partial::Quarter {
                year: YearRef::Known(y),
                ..
            }
            | Partial::Half {
                year: YearRef::Known(y),
                ..
            } => Some(y),
            _ => None,
        })
        .collect();
    let far = years
        .iter()
        .filter(|y| (**y - reference_year).abs() > 1)
        .count();
    // News speaks of "Monday", "yesterday", "this week"; a narrative of the past does not.
    let deictic = found
        .iter()
        .filter(|f| {
            matches!(
                f.partial,
                Partial::Weekday { .. }
                    | Partial::Weekend
                    | Partial::PartOfDay { .. }
                    | Partial::Rel {
                        unit: Unit::Day | Unit::Week | Unit::Weekend,
                        from_previous: false,
                        ..
                    }
            )
        })
        .filter(|f| !in_quote(text, f.span.start))
        .count();
    deictic * 4 < years.len() && years.len() >= 3 && far * 10 >= years.len() * 6
}

/// Resolves every found expression of `text`.
pub fn resolve_all(text: &str, found: Vec<Found>, reference: DateTime<FixedOffset>) -> Vec<Timex> {
    let mut found = merge(text, found);
    share_years(text, &mut found);
    let mut ctx = Ctx {
        today: reference.date_naive(),
        last: None,
        quarter: None,
        narrative: is_narrative(text, &found, reference.date_naive().year()),
    };
    let mut out: Vec<Timex> = Vec::with_capacity(found.len());
    let mut pending_range: Option<usize> = None;
    for f in found {
        let Some(span_text) = text.get(f.span.clone()) else {
            continue;
        };
        let tense = tense(text, f.span.start, f.span.end);
        let Some(mut t) = resolve_one(&f, tense, &mut ctx) else {
            continue;
        };
        t.span = f.span.clone();
        t.text = span_text.to_string();
        t.rule = f.rule;
        let idx = out.len();
        if let Some(start) = pending_range.take() {
            t.range = Some(RangeEnd {
                other: start,
                is_start: false,
            });
            if let Some(s) = out.get_mut(start) {
                s.range = Some(RangeEnd {
                    other: idx,
                    is_start: true,
                });
            }
        }
        if f.range_start {
            pending_range = Some(idx);
        }
        out.push(t);
    }
    out
}

/// The year written on the second of two coordinated dates belongs to both: "in August and
/// September 1914", "26 June - 4 August 1952", "March 3 or 4, 2018"; so does the month of a
/// bare day of the month ("from the 13th to the 19th of October").
fn share_years(text: &str, found: &mut [Found]) {
    for i in 1..found.len() {
        let gap = text
            .get(found[i - 1].span.end..found[i].span.start)
            .unwrap_or("x")
            .trim();
        let coordinated = matches!(
            gap,
            "and" | "or" | "to" | "through" | "until" | "till" | "-" | "–" | "/" | "," | "and/or"
        );
        if !coordinated {
            continue;
        }
        // "from the 13th to the 19th of October": the month written once belongs to both.
        if let (Partial::DayOfMonth(day), Partial::Day { year, month, .. }) =
            (&found[i - 1].partial, &found[i].partial)
        {
            found[i - 1].partial = Partial::Day {
                year: *year,
                month: *month,
                day: *day,
            };
            continue;
        }
        let year = match found[i].partial {
            Partial::Day {
                year: YearRef::Known(y),
                ..
            }
            | Partial::Month {
                year: YearRef::Known(y),
                ..
            } => y,
            _ => continue,
        };
        if let Partial::Day {
            year: ref mut y @ YearRef::Auto,
            ..
        }
        | Partial::Month {
            year: ref mut y @ YearRef::Auto,
            ..
        } = found[i - 1].partial
        {
            *y = YearRef::Known(year);
        }
    }
}

/// Joins a time of day with the day written next to it ("10:32 a.m. EDT on Monday",
/// "Monday at 5 p.m.", "noon Thursday").
fn merge(text: &str, found: Vec<Found>) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::with_capacity(found.len());
    for f in found {
        if let Some(prev) = out.last_mut() {
            let gap = text.get(prev.span.end..f.span.start).unwrap_or("x");
            let gap = gap
                .trim()
                .trim_end_matches("on")
                .trim()
                .trim_start_matches(',')
                .trim();
            let gap_ok = gap.is_empty() || gap == "at" || gap == ",";
            if gap_ok && !prev.range_start {
                let merged = match (&prev.partial, &f.partial) {
                    (
                        Partial::Time {
                            date: None,
                            hour,
                            minute,
                            offset_minutes,
                        },
                        day,
                    ) if is_day(day) => Some(Partial::Time {
                        hour: *hour,
                        minute: *minute,
                        offset_minutes: *offset_minutes,
                        date: Some(Box::new(day.clone())),
                    }),
                    (
                        day,
                        Partial::Time {
                            date: None,
                            hour,
                            minute,
                            offset_minutes,
                        },
                    ) if is_day(day) => Some(Partial::Time {
                        hour: *hour,
                        minute: *minute,
                        offset_minutes: *offset_minutes,
                        date: Some(Box::new(day.clone())),
                    }),
                    _ => None,
                };
                if let Some(partial) = merged {
                    prev.partial = partial;
                    prev.span = prev.span.start..f.span.end;
                    continue;
                }
            }
        }
        out.push(f);
    }
    out
}

fn is_day(p: &Partial) -> bool {
    matches!(
        p,
        Partial::Day { .. }
            | Partial::Weekday { .. }
            | Partial::Rel {
                unit: Unit::Day,
                ..
            }
    )
}

const FUTURE_CUES: &[&str] = &[
    "will",
    "shall",
    "'ll",
    "going",
    "plans",
    "plan",
    "planned",
    "planning",
    "scheduled",
    "expected",
    "expects",
    "due",
    "upcoming",
    "next",
    "intends",
    "aims",
    "slated",
    "won't",
    "tomorrow",
    // "a dividend payable Dec. 15": a payment still to come.
    "payable",
    // The future in the past of reported speech ("Castro said the father would travel
    // Thursday"): news reports the plan before it happens. Not the modals of possibility
    // ("could be located Wednesday"), which as often look back.
    "would",
];

/// The present of a scheduled event ("The summit opens Monday", "the president leaves for Asia
/// on Sunday", "Arafat and Netanyahu meet separately Monday"): news uses it for what is
/// planned. A cue unless it is a noun (after a determiner: "a visit", "the start") or an
/// infinitive ("to meet demand").
const SCHEDULED_PRESENT: &[&str] = &[
    "opens", "begins", "starts", "resumes", "leaves", "arrives", "departs", "visits", "meets",
    "convenes", "expires", "travels", "returns", "hosts", "open", "begin", "start", "resume",
    "leave", "arrive", "depart", "visit", "meet", "convene",
];

static PAST_FORMS: super::words::WordSet = super::words::WordSet::new(super::words::IRREGULAR_PAST);

static NEGATED_PARTICIPLES: super::words::WordSet =
    super::words::WordSet::new(super::words::NEGATED_PARTICIPLES);

/// Past-tense cues besides the irregular past forms of [`super::words::IRREGULAR_PAST`].
const PAST_CUES: &[&str] = &[
    "was",
    "were",
    "had",
    "did",
    "ago",
    "last",
    "announced",
    "reported",
    "killed",
    "earlier",
    "since",
    "has",
    "have",
    "been",
];

/// Verbs that set or move a time limit: "until" after them points ahead ([`tense`]).
const DEADLINE_VERBS: &[&str] = &[
    "extend",
    "extends",
    "extended",
    "extending",
    "postpone",
    "postpones",
    "postponed",
    "delay",
    "delays",
    "delayed",
    "defer",
    "deferred",
    "adjourn",
    "adjourned",
    "recessed",
    "given",
    "gave",
    "granted",
];

/// How many words before an expression [`tense`] looks at.
const LEFT_WORDS: usize = 12;

/// The tense of the clause around `start..end`: a future cue wins over a past cue, which wins over
/// nothing. The clause is bounded by sentence ends, semicolons and line breaks, and by a window of
/// words on each side.
pub fn tense(text: &str, start: usize, end: usize) -> Tense {
    let (before, after) = super::window(text, start, end, 240);
    let left_start = before
        .rfind(['\n', ';', '!', '?'])
        .map(|i| i + 1)
        .into_iter()
        .chain(sentence_start(before))
        .max()
        .unwrap_or(0);
    let left = before.get(left_start..).unwrap_or("");
    let right_end = after
        .find(['\n', ';', '!', '?'])
        .into_iter()
        .chain(sentence_end(after))
        .min()
        .unwrap_or(after.len());
    let right = after.get(..right_end).unwrap_or("");
    // "Talks will resume Thursday, he said.": the attribution after a comma or a closing quote
    // tells when it was said, not when the talks resume. When the clause has words before the
    // expression, the right context stops there ("On Thursday, officials said" keeps it: the
    // date belongs to the saying).
    let right = match attribution_at(right) {
        Some(cut) if left.split_whitespace().count() >= 2 => &right[..cut],
        _ => right,
    };
    let words_left: Vec<String> = left
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .rev()
        // Twelve words are scanned; the thirteenth is only the word before the twelfth ("be
        // paid": a passive, not a past).
        .take(LEFT_WORDS + 1)
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let words_right: Vec<String> = right
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .take(8)
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let is_future = |w: &str| FUTURE_CUES.contains(&w) || w.ends_with("'ll");
    let is_participle = |w: &str| {
        PAST_FORMS.contains(w) || (w.len() > 4 && w.ends_with("ed") && !w.ends_with("eed"))
    };
    let is_past = |w: &str| PAST_CUES.contains(&w) || is_participle(w);
    // A participle after a present or bare "be" is a present passive or an adjective, not a
    // past tense: "talks that are supposed to end by May", "will be paid Dec. 14".
    const BE: &[&str] = &["is", "are", "am", "be", "being", "'s", "'re"];
    let after_be = |prev: Option<&String>| prev.is_some_and(|p| BE.contains(&p.as_str()));
    // After a determiner a word is a noun or an adjective, not a verb: "announced the plan
    // Aug. 21" (the plan, not a plan to come), "on a still unspecified date in January".
    const DETERMINERS: &[&str] = &[
        "the", "a", "an", "its", "their", "his", "her", "our", "your", "this", "that", "these",
        "those",
    ];
    let after_det = |prev: Option<&String>| prev.is_some_and(|p| DETERMINERS.contains(&p.as_str()));
    // "office of the chairman, effective Feb. 1": the date a change takes effect, announced
    // ahead of it.
    if words_left.first().is_some_and(|w| w == "effective") {
        return Tense::Future;
    }
    // "as soon as Tuesday", "as early as next week": the earliest date of something to come.
    if let [a, b, c, ..] = words_left.as_slice()
        && a == "as"
        && c == "as"
        && matches!(b.as_str(), "soon" | "early")
    {
        return Tense::Future;
    }
    // "extended its offer until Friday", "has given them until 9 a.m. Tuesday", "postponed
    // the vote until March": a time limit moved or set, still to come whatever the tense of
    // the verb that moved it.
    if words_left
        .first()
        .is_some_and(|w| matches!(w.as_str(), "until" | "till" | "through"))
        && words_left
            .iter()
            .take(LEFT_WORDS)
            .any(|w| DEADLINE_VERBS.contains(&w.as_str()))
    {
        return Tense::Future;
    }
    // "must be returned by Jan. 14", "to conclude by May": a deadline, still to come, unless
    // the clause looks back from it in the past perfect ("By June, sales had fallen").
    // Only a date whose year is left to the tense ("by May", "by Jan. 14"): not a year
    // ("stalemated by 1940", "by June 1794"), a point of arrival as often as a deadline.
    let worded = text.get(start..end).is_some_and(|t| {
        t.chars().any(char::is_alphabetic)
            && !t.split(|c: char| !c.is_ascii_digit()).any(|d| d.len() == 4)
    });
    // The nearest cue decides: scan outward from the expression (over `words_right` after it).
    let scan = |words_right: &[String]| -> Tense {
        let n = words_left.len().min(LEFT_WORDS).max(words_right.len());
        for i in 0..n {
            // Each cue with the two words before it and the word after it in the text.
            let left = words_left.get(i).filter(|_| i < LEFT_WORDS).map(|w| {
                let next = i.checked_sub(1).and_then(|j| words_left.get(j));
                (w, words_left.get(i + 1), words_left.get(i + 2), next)
            });
            let right = words_right.get(i).map(|w| {
                (
                    w,
                    i.checked_sub(1).and_then(|j| words_right.get(j)),
                    i.checked_sub(2).and_then(|j| words_right.get(j)),
                    words_right.get(i + 1),
                )
            });
            for (w, prev, prev2, next) in [left, right].into_iter().flatten() {
                // "talks set to resume Monday": scheduled, not past.
                let set_to = w == "set" && next.is_some_and(|n| n == "to");
                // "is to resume trading Tuesday": the present of "be to", an arrangement to come.
                let be_to =
                    w == "to" && prev.is_some_and(|p| matches!(p.as_str(), "is" | "are" | "am"));
                let plan_noun = matches!(w.as_str(), "plan" | "plans") && after_det(prev);
                // "next to the embassy", "next door": a place, not a time to come.
                let next_to =
                    w == "next" && next.is_some_and(|n| matches!(n.as_str(), "to" | "door"));
                if is_future(w) && !plan_noun && !next_to {
                    // "had been scheduled to expire Friday", "had planned to": a plan of the past,
                    // given up or overtaken.
                    let had = |p: Option<&String>| p.is_some_and(|p| p == "had" || p == "'d");
                    if had(prev) || prev.is_some_and(|p| p == "been") && had(prev2) {
                        return Tense::Past;
                    }
                    return Tense::Future;
                }
                // "The summit opens Monday": the scheduled present.
                let scheduled = SCHEDULED_PRESENT.contains(&w.as_str())
                    && !after_det(prev)
                    && !prev.is_some_and(|p| matches!(p.as_str(), "to" | "will" | "would"));
                if set_to || be_to || scheduled {
                    return Tense::Future;
                }
                // "unspecified", "undisclosed": adjectives, never a past tense.
                let adjective = is_participle(w)
                    && (after_det(prev) || NEGATED_PARTICIPLES.contains(w.as_str()));
                // "were planning to drive Monday", "was expected Tuesday": the plan is told in the
                // past, its date is still to come; the cue after the auxiliary decides.
                let aux_of_plan =
                    matches!(w.as_str(), "was" | "were") && next.is_some_and(|n| is_future(n));
                let passive = is_participle(w) && after_be(prev);
                // "expected to hit Florida by Friday", "plans to cut jobs": after "to" a verb is
                // an infinitive, whatever its form.
                let infinitive = prev.is_some_and(|p| p == "to") && PAST_FORMS.contains(w);
                let not_past = passive || adjective || aux_of_plan || infinitive;
                if is_past(w) && !not_past {
                    return Tense::Past;
                }
            }
        }
        Tense::Unknown
    };
    if worded && words_left.first().is_some_and(|w| w == "by") {
        let perfect = words_left
            .iter()
            .take(LEFT_WORDS)
            .chain(words_right.iter())
            .any(|w| w == "had" || w == "'d");
        if perfect {
            return Tense::Past;
        }
        // The verb the deadline belongs to stands before it ("was signed by May"); what
        // follows belongs to another clause ("talks to conclude by May, invited ...").
        return match scan(&[]) {
            Tense::Unknown => Tense::Future,
            t => t,
        };
    }
    scan(&words_right)
}

/// Verbs of saying, which after a comma or a closing quote make an attribution.
const REPORTING_VERBS: &[&str] = &[
    "said",
    "says",
    "say",
    "told",
    "added",
    "announced",
    "reported",
    "stated",
    "noted",
    "explained",
    "insisted",
    "claimed",
    "warned",
    "declared",
    "acknowledged",
    "confirmed",
    "predicted",
    "according",
];

/// Where an attribution starts in the text after an expression: the byte offset of a comma or
/// closing quote followed, within four words, by a verb of saying ("Thursday, he said",
/// "Thursday,'' Castro said", "Monday, a spokesman for the ministry said" is too far).
fn attribution_at(right: &str) -> Option<usize> {
    let cut = right
        .find([',', '"', '\u{201D}'])
        .or_else(|| right.find("''"))?;
    let rest = right.get(cut..)?;
    rest.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty() && *w != "''")
        .take(4)
        .any(|w| REPORTING_VERBS.contains(&w.to_ascii_lowercase().as_str()))
        .then_some(cut)
}

/// The start of the sentence containing the end of `before`: after the last ". " that is not an
/// abbreviation ("Dec. 7", "Mr. Kim").
fn sentence_start(before: &str) -> Option<usize> {
    let bytes = before.as_bytes();
    let mut i = bytes.len();
    while i > 1 {
        i -= 1;
        if bytes[i] == b' ' && bytes[i - 1] == b'.' {
            let word_start =
                crate::tagger::after_last(&before[..i - 1], |c: char| !c.is_alphanumeric());
            let word = &before[word_start..i - 1];
            if word.len() > 3 || word.chars().all(|c| c.is_ascii_digit()) && !word.is_empty() {
                return Some(i + 1);
            }
        }
    }
    None
}

fn sentence_end(after: &str) -> Option<usize> {
    let bytes = after.as_bytes();
    for i in 0..bytes.len().saturating_sub(1) {
        if bytes[i] == b'.' && bytes[i + 1] == b' ' {
            // A full stop right after the expression ends its sentence ("... in Paris Monday.
            // Leaders will meet again."): the expression itself is the word before it.
            if i == 0 {
                return Some(0);
            }
            let word_start = crate::tagger::after_last(&after[..i], |c: char| !c.is_alphanumeric());
            if i - word_start > 3 {
                return Some(i);
            }
        }
    }
    None
}

fn kind_of(p: &Partial) -> TimexType {
    match p {
        Partial::Time { .. } | Partial::PartOfDay { .. } | Partial::AnyDayPart(_) => {
            TimexType::Time
        }
        Partial::Duration(_) => TimexType::Duration,
        Partial::Set(_) => TimexType::Set,
        _ => TimexType::Date,
    }
}

fn timex(kind: TimexType, value: String, modifier: Option<Mod>, anchor: Anchor) -> Timex {
    Timex {
        span: 0..0,
        text: String::new(),
        kind,
        value,
        modifier,
        anchor,
        granularity: Granularity::None,
        interval: None,
        range: None,
        rule: "",
    }
}

fn resolve_one(f: &Found, tense: Tense, ctx: &mut Ctx) -> Option<Timex> {
    let kind = kind_of(&f.partial);
    match &f.partial {
        Partial::Duration(v) | Partial::Set(v) => {
            Some(timex(kind, v.clone(), f.modifier, Anchor::Absolute))
        }
        // "at the time" is the story's present: in a narrative of the past, the narrated time
        // (a TIME, PRESENT_REF, as WikiWars annotates it); in news, a time before the reference.
        Partial::Ref("PAST_REF") if f.rule == "the_time" && ctx.narrative => Some(timex(
            TimexType::Time,
            "PRESENT_REF".to_string(),
            f.modifier,
            Anchor::Reference,
        )),
        Partial::Ref(v) => Some(timex(kind, (*v).to_string(), f.modifier, Anchor::Reference)),
        Partial::AnyDayPart(code) => Some(timex(
            kind,
            format!("XXXX-XX-XXT{code}"),
            f.modifier,
            Anchor::Absolute,
        )),
        Partial::Time {
            hour,
            minute,
            offset_minutes,
            date,
        } => {
            let (day, anchor) = match date {
                Some(d) => {
                    let (cal, anchor) = resolve_cal(d, tense, ctx)?;
                    match cal {
                        Cal::Day(day) => (day, anchor),
                        _ => return None,
                    }
                }
                None => anchor_day(ctx, false),
            };
            let mut value = format!("{}T{:02}:{:02}", Cal::Day(day).value(), hour, minute);
            if let Some(off) = offset_minutes {
                if *off == 0 {
                    value.push('Z');
                } else {
                    let sign = if *off < 0 { '-' } else { '+' };
                    value.push_str(&format!(
                        "{sign}{:02}:{:02}",
                        off.abs() / 60,
                        off.abs() % 60
                    ));
                }
            }
            remember(ctx, Cal::Day(day));
            let mut t = timex(kind, value, f.modifier, anchor);
            t.granularity = Granularity::Time;
            t.interval = Some((day, day));
            Some(t)
        }
        Partial::PartOfDay { code, date } => {
            let (cal, anchor) = resolve_cal(date, tense, ctx)?;
            let Cal::Day(day) = cal else { return None };
            remember(ctx, cal);
            let mut t = timex(kind, format!("{}T{code}", cal.value()), f.modifier, anchor);
            t.granularity = Granularity::Time;
            t.interval = Some((day, day));
            Some(t)
        }
        p => {
            let last = match ctx.last {
                Some(Cal::Day(_)) if matches!(f.rule, "ago" | "year_ago_adj") => {
                    ctx.quarter.or(ctx.last)
                }
                _ if matches!(f.rule, "year_ago_period" | "year_period") => {
                    ctx.quarter.or(ctx.last)
                }
                other => other,
            };
            let (cal, anchor) = match (p, last) {
                // Financial reports compare periods: "a year earlier", "a year ago" is the
                // period under report (the last quarter or half mentioned) a year back. Not
                // "two years ago", a year counted from the reference.
                (
                    Partial::Rel {
                        unit: Unit::Year,
                        n,
                        ..
                    },
                    Some(Cal::Quarter(y, q)),
                ) if matches!(f.rule, "ago" | "year_ago_adj") && n.abs() == 1 => {
                    (Cal::Quarter(y + n, q), Anchor::Previous)
                }
                (
                    Partial::Rel {
                        unit: Unit::Year,
                        n,
                        ..
                    },
                    Some(Cal::Half(y, h)),
                ) if matches!(f.rule, "ago" | "year_ago_adj") && n.abs() == 1 => {
                    (Cal::Half(y + n, h), Anchor::Previous)
                }
                // "the quarter" is the quarter under discussion, once one was named; "the
                // year-ago quarter" (n = -5) is that quarter a year back.
                (Partial::Rel { n, .. }, Some(Cal::Quarter(y, q)))
                    if matches!(f.rule, "the_quarter" | "year_ago_period") =>
                {
                    (
                        Cal::Quarter(if *n < -1 { y - 1 } else { y }, q),
                        Anchor::Previous,
                    )
                }
                // "the 1988 quarter": the quarter under discussion, in the named year.
                (Partial::Year(YearRef::Known(y)), Some(Cal::Quarter(_, q)))
                    if f.rule == "year_period" =>
                {
                    (Cal::Quarter(*y, q), Anchor::Absolute)
                }
                // "the previous Friday", "the following Monday": counted from the day last
                // mentioned.
                (Partial::Weekday { weekday, dir }, Some(last))
                    if f.rule == "previous_weekday" && last.granularity() <= Granularity::Day =>
                {
                    let (s, _) = last.interval()?;
                    (
                        Cal::Day(weekday_date(s, *weekday, *dir, tense)?),
                        Anchor::Previous,
                    )
                }
                _ => resolve_cal(p, tense, ctx)?,
            };
            let interval = apply_mod(cal.interval()?, f.modifier);
            // A comparison period ("a year earlier") does not move the discussion to it.
            // A look back ("a year earlier", "the year-ago quarter") is a comparison or a
            // flashback: the story does not move to it. Forward shifts ("two days later") do move it.
            let look_back = matches!(
                f.rule,
                "ago" | "the_quarter" | "year_ago_adj" | "year_period" | "year_ago_period"
            ) && (matches!(p, Partial::Rel { n, .. } if *n < 0)
                || matches!(cal, Cal::Quarter(..) | Cal::Half(..)))
                // "repeating their successes of the previous year": a glance back from the
                // story's date, which stays where it was.
                || (f.rule == "the_following" && matches!(p, Partial::Rel { n, .. } if *n < 0));
            // In a narrative, a plan ("a campaign planned for 1976") looks ahead without moving
            // the story there.
            let plan = ctx.narrative && tense == Tense::Future && anchor == Anchor::Absolute;
            // Nor does a year decades away from the story ("as Napoleon had in 1812"): a
            // digression, not a jump.
            let digression = ctx.narrative
                && cal.granularity() >= Granularity::Year
                && ctx.last.and_then(|c| c.interval()).is_some_and(|(s, _)| {
                    cal.interval()
                        .is_some_and(|(cs, _)| (cs.year() - s.year()).abs() > DIGRESSION_YEARS)
                });
            if !look_back && !plan && !digression {
                remember(ctx, cal);
            }
            if matches!(cal, Cal::Quarter(..)) && !look_back {
                ctx.quarter = Some(cal);
            }
            let mut t = timex(kind, cal.value(), f.modifier, anchor);
            t.granularity = cal.granularity();
            t.interval = Some(interval);
            Some(t)
        }
    }
}

/// How far (in years) from the story's date a year mention is taken as a digression.
const DIGRESSION_YEARS: i32 = 20;

/// Makes `cal` the last date mentioned, unless it only restates a coarser period around the
/// last one ("on December 7, ... 1941": the story stays on December 7).
fn remember(ctx: &mut Ctx, cal: Cal) {
    if let (Some(last), Some((s, e))) = (ctx.last, cal.interval())
        && last.granularity() < cal.granularity()
        && last.interval().is_some_and(|(ls, le)| s <= ls && le <= e)
    {
        return;
    }
    ctx.last = Some(cal);
}

/// Picks the year of (month, day) in the reference year or a neighbour, by tense.
fn choose_year(today: NaiveDate, month: u32, day: u32, tense: Tense) -> i32 {
    let y = today.year();
    let Some(cand) = NaiveDate::from_ymd_opt(y, month, day.clamp(1, 28)) else {
        return y;
    };
    let cand = NaiveDate::from_ymd_opt(y, month, day).unwrap_or(cand);
    let diff = (cand - today).num_days();
    // A past-tense sentence can still report a date a few weeks ahead ("said the vote is set
    // for Jan. 14"), and a future one a date just gone: small gaps keep the reference year.
    match tense {
        Tense::Past if diff > 45 => y - 1,
        Tense::Future if diff < -14 => y + 1,
        Tense::Unknown if diff > 183 => y - 1,
        Tense::Unknown if diff < -183 => y + 1,
        _ => y,
    }
}

fn year_of(yr: YearRef, ctx: &Ctx) -> (i32, Anchor) {
    match yr {
        YearRef::Known(y) => (y, Anchor::Absolute),
        YearRef::Shift(n) if n.abs() < 100 => {
            let (base, anchor) = anchor_day(ctx, false);
            (base.year() + n, anchor)
        }
        YearRef::Previous => match ctx.last.and_then(|c| c.interval()) {
            Some((s, _)) => (s.year(), Anchor::Previous),
            None => (ctx.today.year(), Anchor::Reference),
        },
        _ => (ctx.today.year(), Anchor::Reference),
    }
}

fn anchor_day(ctx: &Ctx, from_previous: bool) -> (NaiveDate, Anchor) {
    // In a narrative the story's current date stands in for the reference time.
    if (from_previous || ctx.narrative)
        && let Some((s, _)) = ctx.last.and_then(|c| c.interval())
    {
        return (s, Anchor::Previous);
    }
    (ctx.today, Anchor::Reference)
}

fn shift_days(d: NaiveDate, n: i64) -> Option<NaiveDate> {
    if n >= 0 {
        d.checked_add_days(Days::new(n as u64))
    } else {
        d.checked_sub_days(Days::new(n.unsigned_abs()))
    }
}

/// In a narrative, the year of a date without one: the story's current year, or the next one
/// when the date lies more than a month before the story's current date (stories move forward).
fn narrative_year(ctx: &Ctx, month: u32, day: u32) -> Option<(i32, Anchor)> {
    if !ctx.narrative {
        return None;
    }
    let cal = ctx.last?;
    let (last, _) = cal.interval()?;
    // After a year ("In 1941, ... in June"), the month is in that year; after a day or month,
    // the nearest occurrence (stories move on, and look back a little).
    if cal.granularity() >= super::Granularity::Year {
        return Some((last.year(), Anchor::Previous));
    }
    let cand = NaiveDate::from_ymd_opt(last.year(), month, day.clamp(1, 28))?;
    let diff = (cand - last).num_days();
    let y = match diff {
        d if d < -183 => last.year() + 1,
        d if d > 183 => last.year() - 1,
        _ => last.year(),
    };
    Some((y, Anchor::Previous))
}

fn resolve_cal(p: &Partial, tense: Tense, ctx: &Ctx) -> Option<(Cal, Anchor)> {
    // A narrative moves forward from the story's current date: seasons, quarters and holidays
    // without a year take the first occurrence from there.
    let story = ctx
        .last
        .filter(|_| ctx.narrative)
        .and_then(|c| c.interval())
        .map(|(s, _)| s);
    let (today, tense) = match story {
        Some(s) => (s, Tense::Future),
        None => (ctx.today, tense),
    };
    Some(match *p {
        Partial::Day {
            year: YearRef::Auto,
            month,
            day,
        } if ctx.narrative && ctx.last.is_some() => {
            let (y, anchor) = narrative_year(ctx, month, day)?;
            (Cal::Day(NaiveDate::from_ymd_opt(y, month, day)?), anchor)
        }
        Partial::Month {
            year: YearRef::Auto,
            month,
        } if ctx.narrative && ctx.last.is_some() => {
            let (y, anchor) = narrative_year(ctx, month, 1)?;
            (Cal::Month(y, month), anchor)
        }
        Partial::Day { year, month, day } => {
            let (y, anchor) = match year {
                YearRef::Auto => (choose_year(today, month, day, tense), Anchor::Reference),
                other => year_of(other, ctx),
            };
            (Cal::Day(NaiveDate::from_ymd_opt(y, month, day)?), anchor)
        }
        Partial::Month { year, month } => {
            let (y, anchor) = match year {
                YearRef::Auto => (choose_year(today, month, 15, tense), Anchor::Reference),
                YearRef::Shift(-100) => {
                    let y = if month < today.month() {
                        today.year()
                    } else {
                        today.year() - 1
                    };
                    (y, Anchor::Reference)
                }
                YearRef::Shift(100) => {
                    let y = if month > today.month() {
                        today.year()
                    } else {
                        today.year() + 1
                    };
                    (y, Anchor::Reference)
                }
                other => year_of(other, ctx),
            };
            (Cal::Month(y, month), anchor)
        }
        Partial::Year(yr) => {
            let (y, a) = year_of(yr, ctx);
            (Cal::Year(y), a)
        }
        Partial::Weekday { weekday, dir } => {
            // In a narrative, "on Sunday" is the first Sunday on or after the story's date.
            let (base, anchor) = anchor_day(ctx, false);
            let tense = if anchor == Anchor::Previous {
                Tense::Future
            } else {
                tense
            };
            (Cal::Day(weekday_date(base, weekday, dir, tense)?), anchor)
        }
        Partial::Holiday { ref name, year } => {
            let on = |y: i32| super::rules::holiday_date(name, y);
            let this = on(today.year())?;
            let (date, anchor) = match year {
                YearRef::Known(y) => (on(y)?, Anchor::Absolute),
                YearRef::Shift(-100) if this < today => (this, Anchor::Reference),
                YearRef::Shift(-100) => (on(today.year() - 1)?, Anchor::Reference),
                YearRef::Shift(100) if this > today => (this, Anchor::Reference),
                YearRef::Shift(100) => (on(today.year() + 1)?, Anchor::Reference),
                YearRef::Auto => {
                    let diff = (this - today).num_days();
                    let y = match tense {
                        Tense::Past if diff > 45 => today.year() - 1,
                        Tense::Future if diff < -14 => today.year() + 1,
                        Tense::Unknown if diff > 183 => today.year() - 1,
                        Tense::Unknown if diff < -183 => today.year() + 1,
                        _ => today.year(),
                    };
                    (on(y)?, Anchor::Reference)
                }
                _ => (this, Anchor::Reference),
            };
            (Cal::Day(date), anchor)
        }
        Partial::Weekend => {
            // The weekend just past, or the coming one in a future sentence.
            let wd = i64::from(today.weekday().num_days_from_monday());
            let saturday = if tense == Tense::Future {
                shift_days(today, (5 - wd).rem_euclid(7))?
            } else {
                shift_days(today, -((wd - 5).rem_euclid(7)))?
            };
            let w = saturday.iso_week();
            (Cal::Weekend(w.year(), w.week()), Anchor::Reference)
        }
        Partial::Decade(d) => (Cal::Decade(d), Anchor::Absolute),
        Partial::Century(c) => (Cal::Century(c), Anchor::Absolute),
        Partial::Season { year, season } => {
            let current = today.month();
            let (y, anchor) = match year {
                YearRef::Shift(-100) => {
                    let ended = season.first_month() + 2 < current;
                    (
                        if ended {
                            today.year()
                        } else {
                            today.year() - 1
                        },
                        Anchor::Reference,
                    )
                }
                YearRef::Shift(100) => {
                    let started = season.first_month() <= current;
                    (
                        if started {
                            today.year() + 1
                        } else {
                            today.year()
                        },
                        Anchor::Reference,
                    )
                }
                YearRef::Auto => {
                    let y = match tense {
                        Tense::Past if season.first_month() > current => today.year() - 1,
                        Tense::Future if season.first_month() + 2 < current => today.year() + 1,
                        _ => today.year(),
                    };
                    (y, Anchor::Reference)
                }
                other => year_of(other, ctx),
            };
            (Cal::Season(y, season), anchor)
        }
        Partial::Quarter { year, quarter } => {
            let (y, anchor) = match year {
                YearRef::Auto => {
                    let cq = (today.month() - 1) / 3 + 1;
                    let y = match tense {
                        // Results of the quarter just ended are still to come: only an
                        // earlier quarter is next year's.
                        Tense::Future if quarter + 1 < cq => today.year() + 1,
                        Tense::Future => today.year(),
                        _ if quarter > cq => today.year() - 1,
                        _ => today.year(),
                    };
                    (y, Anchor::Reference)
                }
                other => year_of(other, ctx),
            };
            (Cal::Quarter(y, quarter), anchor)
        }
        Partial::Half { year, half } => {
            let (y, anchor) = match year {
                YearRef::Auto => {
                    let ch = if today.month() <= 6 { 1 } else { 2 };
                    let y = if half > ch && tense != Tense::Future {
                        today.year() - 1
                    } else {
                        today.year()
                    };
                    (y, Anchor::Reference)
                }
                other => year_of(other, ctx),
            };
            (Cal::Half(y, half), anchor)
        }
        Partial::Rel {
            unit,
            n,
            from_previous,
        } => {
            let (base, anchor) = anchor_day(ctx, from_previous);
            let cal = match unit {
                Unit::Day | Unit::Hour | Unit::Minute | Unit::Second => {
                    Cal::Day(shift_days(base, i64::from(n))?)
                }
                Unit::Week => {
                    let d = shift_days(base, 7 * i64::from(n))?.iso_week();
                    Cal::Week(d.year(), d.week())
                }
                Unit::Weekend => {
                    let d = shift_days(base, 7 * i64::from(n))?.iso_week();
                    Cal::Weekend(d.year(), d.week())
                }
                Unit::Month => {
                    let (y, m) = add_months(base.year(), base.month(), n);
                    Cal::Month(y, m)
                }
                Unit::Quarter => {
                    let (y, m) = add_months(base.year(), base.month(), 3 * n);
                    Cal::Quarter(y, (m - 1) / 3 + 1)
                }
                Unit::Year => Cal::Year(base.year() + n),
                // "a decade ago" is the year ten years back; "this decade" is the decade.
                Unit::Decade if n != 0 => Cal::Year(base.year() + 10 * n),
                Unit::Century if n != 0 => Cal::Year(base.year() + 100 * n),
                Unit::Decade => Cal::Decade(base.year().div_euclid(10)),
                Unit::Century => Cal::Century(base.year().div_euclid(100)),
            };
            (cal, anchor)
        }
        Partial::Time { .. }
        | Partial::PartOfDay { .. }
        | Partial::Duration(_)
        | Partial::Set(_)
        | Partial::Ref(_)
        | Partial::AnyDayPart(_) => return None,
        Partial::DayOfMonth(day) => {
            // Only within a story told day by day or month by month: the month of the last
            // date mentioned.
            let last = ctx.last.filter(|c| c.granularity() <= Granularity::Month)?;
            let (s, _) = last.interval()?;
            (
                Cal::Day(NaiveDate::from_ymd_opt(s.year(), s.month(), day)?),
                Anchor::Previous,
            )
        }
    })
}

/// The date of a weekday relative to `today`.
fn weekday_date(today: NaiveDate, weekday: Weekday, dir: Dir, tense: Tense) -> Option<NaiveDate> {
    let t = i64::from(today.weekday().num_days_from_monday());
    let w = i64::from(weekday.num_days_from_monday());
    let back = (t - w).rem_euclid(7); // days back to the latest such day, 0 = today
    let fwd = (w - t).rem_euclid(7); // days forward to the next such day, 0 = today
    let offset = match dir {
        Dir::Last => -(if back == 0 { 7 } else { back }),
        Dir::Next => {
            if fwd == 0 {
                7
            } else {
                fwd
            }
        }
        Dir::This => w - t,
        Dir::Auto => match tense {
            Tense::Past => -back,
            Tense::Future => fwd,
            // News reports what happened: a weekday without a future cue is the latest one.
            Tense::Unknown => -back,
        },
    };
    shift_days(today, offset)
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    fn values(text: &str) -> Vec<String> {
        let reference =
            DateTime::parse_from_rfc3339("2009-12-19T00:00:00Z").expect("valid reference");
        super::super::tag(text, reference)
            .into_iter()
            .map(|t| t.value)
            .collect()
    }

    #[test]
    fn a_digression_or_a_plan_does_not_move_the_story() {
        let v = values(
            "In 1919 the war began. On 10 March 1920 the army attacked, as Napoleon had in \
             1812, and a campaign was planned for 1921. The town fell on 11 March.",
        );
        assert_eq!(v, ["1919", "1920-03-10", "1812", "1921", "1920-03-11"]);
    }

    #[test]
    fn the_previous_year_looks_back_without_moving_the_story() {
        let v = values(
            "In 1918 the war began. In 1919 it spread. In 1920 they advanced, repeating their \
             successes of the previous year. In October, they won.",
        );
        assert_eq!(v, ["1918", "1919", "1920", "1919", "1920-10"]);
    }

    #[test]
    fn quoted_deixis_does_not_make_a_narrative_read_as_news() {
        // The speaker's "today" and "tomorrow" are not the narrator's: the story stays in 1937.
        let v = values(
            "In 1935 the war began. In 1936 it spread. In 1937 it ended. On October 5, the army \
             took the town. He warned: \"It is us today. It will be you tomorrow.\"",
        );
        assert_eq!(v.get(3).map(String::as_str), Some("1937-10-05"));
    }

    #[test]
    fn a_year_restating_the_story_date_keeps_the_day() {
        let v = values(
            "In 1939 it began. In 1940 it spread. On December 7, 1941, Japan attacked. In \
             January, the Allies met.",
        );
        assert_eq!(v, ["1939", "1940", "1941-12-07", "1942-01"]);
    }
}
