//! Event anchoring: ties each datable temporal expression to the event it dates.
//!
//! Pure and heuristic, no model, linear in the text:
//! - **Clause.** The sentence around the date, cut at semicolons, dashes and quotes.
//! - **Trigger.** The nearest event word in the clause: an event noun from the lexicon
//!   ([`lexicon::EVENT_NOUNS`]: "summit", "tests", "election") or a verb (past forms, or the
//!   verb after a modal or "to"). For a deadline inside a threat ("threatens to take a new way
//!   unless ... by the end of the year") the trigger is the threatened action.
//! - **Phrase.** The trigger with the noun phrase or object around it, a few words at most.
//! - **Participants.** Runs of capitalised words in the sentence (names of people, states,
//!   organisations), without months, weekdays and sentence-initial function words.
//! - **Location.** The last capitalised run after "in", "at" or "near" in the clause.
//! - **Modality.** Negated > threatened > planned > reported > asserted, from cue words near
//!   the trigger, quotes around the date, and whether the date lies after publication.

pub mod lexicon;

use std::ops::Range;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::tagger::Timex;
use crate::timeline::EventInfo;

/// Whether an event happened, is reported, planned, threatened or negated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Modality {
    /// Stated as fact by the article ("rejected").
    Asserted,
    /// Attributed to a source ("Reuters reported", "said", inside quotes).
    Reported,
    /// Planned or expected, in the future ("will meet", "is expected to").
    Planned,
    /// Threatened or conditional ("threatens to", "unless").
    Threatened,
    /// Negated or denied ("did not", "denied").
    Negated,
}

/// One datable expression with the event it dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchoredEvent {
    /// Index of the timex in the tagger's output.
    pub timex: usize,
    /// The event it dates.
    pub event: EventInfo,
}

/// A word of the text with its byte span.
#[derive(Debug, Clone)]
struct Token<'a> {
    text: &'a str,
    /// The lowercase form, computed once (every list lookup uses it).
    lower: String,
    span: Range<usize>,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '\'' || c == '-' || c == '\u{2019}'
}

/// Splits `text[range]` into word and punctuation tokens.
fn tokens(text: &str, range: Range<usize>) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let Some(s) = text.get(range.clone()) else {
        return out;
    };
    let mut iter = s.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if c.is_whitespace() {
            continue;
        }
        let start = i;
        let mut end = i + c.len_utf8();
        if is_word_char(c) {
            while let Some(&(j, d)) = iter.peek() {
                if is_word_char(d)
                    || (d == '.' && s[j + 1..].starts_with(|x: char| x.is_alphanumeric()))
                {
                    end = j + d.len_utf8();
                    iter.next();
                } else {
                    break;
                }
            }
        }
        let text = &s[start..end];
        out.push(Token {
            text,
            lower: lower(text),
            span: range.start + start..range.start + end,
        });
    }
    out
}

/// Byte ranges of the sentences of `text`.
pub fn sentences(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let mut cut = None;
        if b == b'\n' {
            cut = Some(i + 1);
        } else if matches!(b, b'.' | b'!' | b'?') {
            // Sentence end: punctuation (and closing quotes) then space then a capital or quote.
            let mut j = i + 1;
            while j < bytes.len() && matches!(bytes[j], b'"' | b'\'' | b')') {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == b' ' {
                let next = bytes.get(j + 1).copied().unwrap_or(b'A');
                if (next.is_ascii_uppercase() || next == b'"' || next == b'(')
                    && !(b == b'.' && is_abbreviation(text, i))
                {
                    cut = Some(j);
                }
            }
        }
        if let Some(c) = cut {
            if text.get(start..c).is_some_and(|s| !s.trim().is_empty()) {
                out.push(start..c);
            }
            start = c;
        }
        i += 1;
    }
    if text.get(start..).is_some_and(|s| !s.trim().is_empty()) {
        out.push(start..text.len());
    }
    out
}

/// Whether the period at `dot` ends an abbreviation ("Dec.", "Mr.", "U.S.").
fn is_abbreviation(text: &str, dot: usize) -> bool {
    let before = text.get(..dot).unwrap_or("");
    let word_start =
        crate::tagger::after_last(before, |c: char| !(c.is_alphanumeric() || c == '.'));
    let word = before.get(word_start..).unwrap_or("");
    // An initial ("J.") or a dotted abbreviation ("U.S."); a number ("on Dec. 7.") is not one.
    if word.contains('.') || (word.chars().count() == 1 && word.chars().all(char::is_alphabetic)) {
        return true;
    }
    if word.is_empty() {
        return true;
    }
    lexicon::ABBREVIATIONS.contains(&word)
}

/// Finds the event of every datable timex in `text`.
pub fn anchor(text: &str, timexes: &[Timex], published: chrono::NaiveDate) -> Vec<AnchoredEvent> {
    let sents = sentences(text);
    let mut out = Vec::new();
    let mut sent_idx = 0;
    let mut cache: Option<(Range<usize>, Vec<Token>)> = None;
    for (i, t) in timexes.iter().enumerate() {
        if !t.is_datable() {
            continue;
        }
        while sent_idx + 1 < sents.len() && sents[sent_idx].end <= t.span.start {
            sent_idx += 1;
        }
        let Some(sent) = sents.get(sent_idx).cloned() else {
            continue;
        };
        // Bound the sentence to a window around the date, so run-on "sentences" (a megabyte
        // without a full stop) cost constant work per date.
        let (before, after) = crate::tagger::window(text, t.span.start, t.span.end, 400);
        let sent =
            sent.start.max(t.span.start - before.len())..sent.end.min(t.span.end + after.len());
        if cache.as_ref().is_none_or(|(r, _)| *r != sent) {
            cache = Some((sent.clone(), tokens(text, sent.clone())));
        }
        let toks = cache.as_ref().map(|(_, t)| t.as_slice()).unwrap_or(&[]);
        let event = event_for(text, sent, toks, timexes, t, published);
        out.push(AnchoredEvent { timex: i, event });
    }
    out
}

fn lower(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.to_lowercase().replace('\u{2019}', "'")
}

/// Whether a token can be an event verb.
fn is_verb(tokens: &[Token], i: usize) -> bool {
    let w = tokens[i].lower.as_str();
    if lexicon::NOT_VERBS.contains(&w) || !tokens[i].text.starts_with(|c: char| c.is_lowercase()) {
        return false;
    }
    if lexicon::IRREGULAR_PAST.contains(&w) || lexicon::COMMON_VERBS.contains(&w) {
        return true;
    }
    if w.len() > 4 && w.ends_with("ed") && !w.ends_with("eed") {
        return true;
    }
    // A base form after a modal or "to": "will meet", "to take".
    if i > 0 {
        let prev = tokens[i - 1].lower.as_str();
        if lexicon::MODALS.contains(&prev) || prev == "to" {
            return w.chars().all(|c| c.is_ascii_lowercase())
                && !lexicon::FUNCTION_WORDS.contains(&w);
        }
    }
    false
}

fn is_event_noun(tokens: &[Token], i: usize) -> bool {
    let w = tokens[i].lower.as_str();
    let w = w.trim_end_matches("'s");
    lexicon::EVENT_NOUNS.contains(&w)
        || (w.ends_with('s') && lexicon::EVENT_NOUNS.contains(&&w[..w.len() - 1]))
}

fn is_name(tok: &Token) -> bool {
    tok.text.starts_with(|c: char| c.is_uppercase())
        && !lexicon::NOT_NAMES.contains(&tok.text)
        && !is_calendar_word(tok.text)
}

fn is_calendar_word(w: &str) -> bool {
    const CAL: &[&str] = &[
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "Jan.",
        "Feb.",
        "Aug.",
        "Sept.",
        "Sep.",
        "Oct.",
        "Nov.",
        "Dec.",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    CAL.contains(&w.trim_end_matches("'s"))
}

/// Token index range of the clause around token `at`.
fn clause(tokens: &[Token], at: usize) -> Range<usize> {
    let is_break = |t: &Token| matches!(t.text, ";" | "--" | "\u{2014}" | ":" | "(" | ")");
    let mut s = at;
    while s > 0 && !is_break(&tokens[s - 1]) {
        s -= 1;
    }
    let mut e = at;
    while e < tokens.len() && !is_break(&tokens[e]) {
        e += 1;
    }
    s..e
}

fn event_for(
    text: &str,
    sent: Range<usize>,
    toks: &[Token],
    timexes: &[Timex],
    t: &Timex,
    published: chrono::NaiveDate,
) -> EventInfo {
    let sentence = text.get(sent.clone()).unwrap_or("").trim().to_string();
    // Tokens that belong to any timex are not triggers or names.
    // Timexes are ordered and disjoint: find the first that ends after the token.
    let in_timex = |tok: &Token| {
        let k = timexes.partition_point(|x| x.span.end <= tok.span.start);
        timexes.get(k).is_some_and(|x| x.span.start < tok.span.end)
    };
    let at = toks
        .iter()
        .position(|tok| tok.span.end > t.span.start)
        .unwrap_or(toks.len().saturating_sub(1));
    let after = toks
        .iter()
        .position(|tok| tok.span.start >= t.span.end)
        .unwrap_or(toks.len());
    let cl = clause(toks, at.min(toks.len().saturating_sub(1)));

    let trigger_idx = threatened_action(toks, &cl, at)
        .or_else(|| nearest_trigger(toks, &cl, at, after, &in_timex))
        .map(|i| prefer_event_noun(toks, &cl, i))
        .map(|i| prefer_governing_verb(toks, &cl, i, at));
    let (trigger, phrase) = match trigger_idx {
        Some(i) => (
            toks[i].text.trim_end_matches("'s").to_string(),
            phrase_around(text, toks, i, &cl, &in_timex),
        ),
        None => (String::new(), String::new()),
    };
    let participants = participants(toks, &in_timex);
    let location = location(toks, &cl, &in_timex);
    let modality = modality(text, toks, &cl, trigger_idx, t, published);
    EventInfo {
        trigger,
        phrase,
        participants,
        location,
        modality,
        sentence,
    }
}

/// "X threatens to take a new way unless ... by DATE": the threatened action is the event.
fn threatened_action(toks: &[Token], cl: &Range<usize>, at: usize) -> Option<usize> {
    let before_date = at.saturating_sub(1);
    let deadline = toks
        .get(before_date)
        .is_some_and(|t| matches!(t.lower.as_str(), "by" | "before" | "until"))
        || toks.get(at).is_some_and(|t| t.lower == "by");
    if !deadline {
        return None;
    }
    let _ = cl;
    for i in 0..at {
        let w = toks[i].lower.as_str();
        if !lexicon::THREAT_VERBS.contains(&w) {
            continue;
        }
        // The threatened action: the first verb after "threatens to", "warned it would", ...
        if let Some(k) = (i + 1..at.min(i + 6)).find(|&k| {
            let prev = toks[k - 1].lower.as_str();
            (prev == "to" || lexicon::MODALS.contains(&prev)) && is_verb(toks, k)
        }) {
            return Some(k);
        }
    }
    None
}

/// "announced the ban on Monday": a date after a verb and its short object dates the verb.
fn prefer_governing_verb(toks: &[Token], cl: &Range<usize>, trigger: usize, at: usize) -> usize {
    if trigger >= at || !is_event_noun(toks, trigger) {
        return trigger;
    }
    for k in (cl.start.max(trigger.saturating_sub(4))..trigger).rev() {
        let w = toks[k].lower.as_str();
        if matches!(toks[k].text, "," | ";" | ":" | "(" | ")")
            || matches!(w, "in" | "at" | "of" | "with")
        {
            return trigger;
        }
        if is_verb(toks, k)
            && !lexicon::LIGHT_VERBS.contains(&w)
            && !lexicon::REPORTING_VERBS.contains(&w)
        {
            return k;
        }
    }
    trigger
}

/// A light verb hands the event to its event noun: the object after it ("conducted an engine
/// test", "carried out a test", "held talks"), or else the subject before it ("The election was
/// held in March").
fn prefer_event_noun(toks: &[Token], cl: &Range<usize>, trigger: usize) -> usize {
    if !lexicon::LIGHT_VERBS.contains(&toks[trigger].lower.as_str()) {
        return trigger;
    }
    let object = (trigger + 1..cl.end.min(trigger + 6))
        .take_while(|&k| {
            !is_calendar_word(toks[k].text) && !matches!(toks[k].lower.as_str(), "in" | "on" | "at")
        })
        .find(|&k| is_event_noun(toks, k));
    object
        .or_else(|| {
            (cl.start.max(trigger.saturating_sub(6))..trigger)
                .rev()
                .find(|&k| is_event_noun(toks, k))
        })
        .unwrap_or(trigger)
}

fn nearest_trigger(
    toks: &[Token],
    cl: &Range<usize>,
    at: usize,
    after: usize,
    in_timex: &dyn Fn(&Token) -> bool,
) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None; // (score, index)
    for i in cl.clone() {
        let tok = &toks[i];
        if in_timex(tok) {
            continue;
        }
        let noun = is_event_noun(toks, i);
        let verb = !noun && is_verb(toks, i);
        if !noun && !verb {
            continue;
        }
        let dist = if i < at {
            at - i
        } else {
            i.saturating_sub(after) + 1
        };
        // Event nouns are the best anchor of a date that modifies them; reporting verbs
        // ("said") are the weakest.
        let mut score = dist * 4;
        if verb && lexicon::REPORTING_VERBS.contains(&tok.lower.as_str()) {
            score += 40;
        }
        if noun {
            score = score.saturating_sub(2);
        }
        if best.is_none_or(|(s, _)| score < s) {
            best = Some((score, i));
        }
    }
    best.map(|(_, i)| i)
}

fn phrase_around(
    text: &str,
    toks: &[Token],
    i: usize,
    cl: &Range<usize>,
    in_timex: &dyn Fn(&Token) -> bool,
) -> String {
    let stop = |t: &Token| {
        let w = t.lower.as_str();
        matches!(t.text, "," | "." | ";" | ":" | "(" | ")" | "!" | "?" | "--")
            || lexicon::PHRASE_STOPS.contains(&w)
            || in_timex(t)
    };
    let mut s = i;
    let mut e = i + 1;
    if is_event_noun(toks, i) {
        // The noun phrase ending at the noun: "two presumed rocket engine tests".
        while s > cl.start
            && s > i.saturating_sub(6)
            && !stop(&toks[s - 1])
            && !is_verb(toks, s - 1)
            && !matches!(
                toks[s - 1].lower.as_str(),
                "in" | "at" | "with" | "of" | "near"
            )
        {
            s -= 1;
        }
        // Then a complement: "tests at the North's Sohae satellite launching facility".
        if toks.get(e).is_some_and(|t| {
            matches!(
                t.lower.as_str(),
                "of" | "at" | "in" | "with" | "on" | "between" | "against"
            )
        }) && !toks.get(e + 1).is_some_and(in_timex)
        {
            let mut k = e + 1;
            while k < cl.end && k < e + 7 && !stop(&toks[k]) {
                k += 1;
            }
            if k > e + 1 {
                e = k;
            }
        }
    } else {
        // A verb with its object: "rejected a reported proposal by China and Russia".
        while e < cl.end && e < i + 7 && !stop(&toks[e]) {
            e += 1;
        }
        if s > cl.start && toks[s - 1].lower == "to" {
            s -= 1;
        }
        if s > cl.start && lexicon::MODALS.contains(&toks[s - 1].lower.as_str()) {
            s -= 1;
        }
    }
    // No dangling preposition at the end: "summit in Singapore in" -> "summit in Singapore".
    while e > i + 1
        && matches!(
            toks[e - 1].lower.as_str(),
            "in" | "at" | "of" | "with" | "the" | "a" | "on"
        )
    {
        e -= 1;
    }
    // The source text of the phrase, with white space folded (it may span line breaks).
    match (toks.get(s), toks.get(e.saturating_sub(1))) {
        (Some(first), Some(last)) if first.span.start <= last.span.end => text
            .get(first.span.start..last.span.end)
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

fn participants(toks: &[Token], in_timex: &dyn Fn(&Token) -> bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if !is_name(&toks[i])
            || in_timex(&toks[i])
            || (i == 0 && lexicon::FUNCTION_WORDS.contains(&toks[i].lower.as_str()))
        {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut parts = Vec::new();
        while j < toks.len()
            && !in_timex(&toks[j])
            && (is_name(&toks[j])
                || (!parts.is_empty()
                    && matches!(toks[j].text, "of" | "for")
                    && toks.get(j + 1).is_some_and(is_name)))
        {
            parts.push(
                toks[j]
                    .text
                    .trim_end_matches("'s")
                    .trim_end_matches('\u{2019}'),
            );
            if toks[j].text.ends_with("'s") {
                j += 1;
                break;
            }
            j += 1;
        }
        let name = parts.join(" ");
        if !name.is_empty() && !out.contains(&name) && out.len() < 8 {
            out.push(name);
        }
        i = j.max(i + 1);
    }
    out
}

fn location(
    toks: &[Token],
    cl: &Range<usize>,
    in_timex: &dyn Fn(&Token) -> bool,
) -> Option<String> {
    let mut loc = None;
    for i in cl.clone() {
        if !matches!(toks[i].lower.as_str(), "in" | "at" | "near" | "outside") {
            continue;
        }
        let mut k = i + 1;
        let mut last_run: Vec<&str> = Vec::new();
        let mut run: Vec<&str> = Vec::new();
        while k < cl.end && k < i + 8 && !in_timex(&toks[k]) {
            let t = &toks[k];
            if t.text.ends_with("'s") || t.text.ends_with("\u{2019}s") {
                // "the North's Sohae facility": the possessor is not the place.
                run.clear();
            } else if is_name(t) {
                run.push(t.text.trim_end_matches("'s"));
            } else {
                if !run.is_empty() {
                    last_run = std::mem::take(&mut run);
                }
                let w = t.lower.as_str();
                if !(matches!(w, "the" | "a" | "its" | "their" | "his" | "her")
                    || w.chars().all(|c| c.is_alphabetic() || c == '-'))
                {
                    break;
                }
                if is_verb(toks, k) || lexicon::PHRASE_STOPS.contains(&w) {
                    break;
                }
            }
            k += 1;
        }
        if !run.is_empty() {
            last_run = run;
        }
        if !last_run.is_empty() {
            loc = Some(last_run.join(" "));
        }
    }
    loc
}

/// Whether a negation cue in `before` (the words just before the trigger) negates the trigger:
/// the last cue, unless a verb of its own stands between it and the trigger ("has not commented
/// on Saturday's test" negates the comment, not the test; "did not attend the summit" and "did
/// not test" negate the event, a light verb handing it on).
fn negated(toks: &[Token], before: Range<usize>) -> bool {
    let end = before.end;
    let Some(cue) = before.rev().find(|&k| {
        let w = toks[k].lower.as_str();
        lexicon::NEGATIONS.contains(w) || w.ends_with("n't")
    }) else {
        return false;
    };
    !(cue + 1..end)
        .any(|k| is_verb(toks, k) && !lexicon::LIGHT_VERBS.contains(toks[k].lower.as_str()))
}

fn modality(
    text: &str,
    toks: &[Token],
    cl: &Range<usize>,
    trigger: Option<usize>,
    t: &Timex,
    published: chrono::NaiveDate,
) -> Modality {
    let near_start = trigger.map_or(0, |i| i.saturating_sub(4).max(cl.start));
    let near: Vec<String> = match trigger {
        Some(i) => toks[near_start..i]
            .iter()
            .map(|t| t.lower.clone())
            .collect(),
        None => Vec::new(),
    };
    if let Some(i) = trigger
        && negated(toks, near_start..i)
    {
        return Modality::Negated;
    }
    let clause_words: Vec<String> = toks[cl.clone()].iter().map(|t| t.lower.clone()).collect();
    if clause_words
        .iter()
        .any(|w| lexicon::THREAT_VERBS.contains(&w.as_str()) || w == "unless")
    {
        return Modality::Threatened;
    }
    let future = t.interval.is_some_and(|(s, _)| s > published);
    if future
        || near.iter().any(|w| {
            lexicon::MODALS.contains(&w.as_str()) || lexicon::PLAN_WORDS.contains(&w.as_str())
        })
    {
        return Modality::Planned;
    }
    let quoted = {
        let before = crate::tagger::window(text, t.span.start, t.span.start, 400).0;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        before[line_start..]
            .matches(['"', '\u{201c}', '\u{201d}'])
            .count()
            % 2
            == 1
    };
    let reported = clause_words.iter().enumerate().any(|(k, w)| {
        // "reported" as an adjective ("a reported proposal") is not attribution.
        let next = clause_words.get(k + 1).map(String::as_str);
        (lexicon::REPORTING_VERBS.contains(&w.as_str())
            && (w != "reported" || matches!(next, Some("that" | "on" | ",") | None)))
            || matches!(w.as_str(), "reportedly" | "presumed" | "allegedly")
    });
    if quoted || reported {
        return Modality::Reported;
    }
    Modality::Asserted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_skip_abbreviations() {
        let t = "Tests on Dec. 7 and 13 at Sohae. Mr. Kim said so. The U.S. rejected it. \
                 J. Smith left on Dec. 7. Talks resumed.";
        let s: Vec<&str> = sentences(t).into_iter().map(|r| t[r].trim()).collect();
        assert_eq!(
            s,
            vec![
                "Tests on Dec. 7 and 13 at Sohae.",
                "Mr. Kim said so.",
                "The U.S. rejected it.",
                "J. Smith left on Dec. 7.",
                "Talks resumed."
            ]
        );
    }
}
