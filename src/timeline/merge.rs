//! Merge rules: when two article-level records report the same real event.
//!
//! Several outlets report one event with different words and dates ("conducted a test on
//! Saturday", "the Dec. 7 test", "tested an engine last week"). The timeline store keeps one
//! entry per real event and asks [`best_match`] which entry an incoming record joins. Two
//! reports are the same event ([`same_event`]) when all of these hold:
//!
//! 1. **Trigger.** Their triggers fall in the same class ([`trigger_class`]): the same word up to
//!    inflection ("tests", "tested", "testing"), or synonyms from one class of
//!    [`TRIGGER_CLASSES`] ("talks", "summit", "met"). A support verb hands the class to the event
//!    word after it in the phrase ([`event_class`]: "posted its first quarterly loss" is
//!    `results`, "forced the closure" is `close`). A report without a trigger matches nothing.
//! 2. **Date.** Their dates are compatible ([`dates_compatible`]): identical intervals, or one
//!    inside the other when the wider is at most a month ("Dec. 7" and "December 2019", "last
//!    week"), and, for two clock times on the same day, at most [`MAX_TIME_GAP_MINUTES`] apart.
//!    Two different days never match, nor a day and a year or a decade.
//! 3. **Entities.** Their participants or places overlap after alias normalisation
//!    ([`entity_keys`]; a bare surname or short name matches the full one: "Fico" and
//!    `robert-fico`, "Norvik" and `norvik-motors`). When
//!    one side names no entity at all (the extractor found none in its sentence), the two must
//!    instead be dated to the same single day.
//! 4. **Modality.** A negated report ("did not test on Saturday") never merges with one that
//!    says the event happened, was planned or threatened; every other combination may (a
//!    summit planned for June 12 and the summit held on June 12 are one event).
//!
//! Two different events on the same day (a test and a statement) stay apart by rule 1; two
//! tests on different days by rule 2; two bridges closed on the same day by rule 3.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use chrono::NaiveDate;

use super::keys::Aliases;
use super::record::{DateInfo, EventInfo};
use crate::events::Modality;

/// Longest interval, in days (`end - start`), that can match any report: two identical
/// intervals of at most a (leap) year. The store never looks at longer entries.
pub const MAX_SPAN_DAYS: i64 = 366;

/// Longest interval, in days (`end - start`), that can contain a finer date of the same event:
/// a calendar month ("June 2018" holds "June 12, 2018"; "2019" does not hold "Dec. 7, 2019").
pub const MAX_NESTED_SPAN_DAYS: i64 = 30;

/// Two clock times of the same day further apart than this are different events.
pub const MAX_TIME_GAP_MINUTES: i64 = 180;

/// What the store keeps of an entry to compare reports with.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The entry's date (the most precise report's).
    pub date: &'a DateInfo,
    /// The entry's event (the first report's).
    pub event: &'a EventInfo,
    /// Entity keys of every report merged so far ([`entity_keys`]).
    pub entities: &'a [String],
}

/// Synonym classes of event triggers: class name, then the words of the class. Words are
/// compared after [`stem`], so one inflected form of each word is enough. General news
/// vocabulary; a word belongs to at most one class (a test checks it).
pub const TRIGGER_CLASSES: &[(&str, &[&str])] = &[
    (
        "meet",
        &[
            "meet",
            "meeting",
            "talks",
            "summit",
            "summitry",
            "negotiations",
            "negotiate",
            "dialogue",
            "confer",
        ],
    ),
    (
        "say",
        &[
            "say",
            "state",
            "statement",
            "announce",
            "announcement",
            "declare",
            "declaration",
            "tell",
            "comment",
            "remarks",
            "report",
            "add",
            "note",
            "claim",
        ],
    ),
    ("test", &["test"]),
    ("launch", &["launch", "fire", "firing"]),
    (
        "reject",
        &[
            "reject",
            "rejection",
            "dismiss",
            "refuse",
            "refusal",
            "rebuff",
            "spurn",
        ],
    ),
    ("propose", &["propose", "proposal", "suggest", "suggestion"]),
    ("close", &["close", "closure", "shut"]),
    ("reopen", &["reopen", "reopening"]),
    ("open", &["open", "opening"]),
    ("win", &["win", "victory", "triumph"]),
    ("lose", &["lose", "defeat"]),
    (
        "vote",
        &[
            "vote",
            "election",
            "elect",
            "poll",
            "ballot",
            "referendum",
            "runoff",
            "caucus",
        ],
    ),
    ("rule", &["rule", "ruling", "judgment", "judgement"]),
    ("convict", &["convict", "conviction", "verdict", "guilty"]),
    ("acquit", &["acquit", "acquittal"]),
    ("sentence", &["sentence", "sentencing"]),
    ("charge", &["charge", "indict", "indictment"]),
    ("arrest", &["arrest", "detain", "detention"]),
    (
        "attack",
        &[
            "attack",
            "assault",
            "raid",
            "bomb",
            "bombing",
            "shelling",
            "shell",
            "airstrike",
        ],
    ),
    (
        "storm",
        &[
            "storm",
            "hurricane",
            "typhoon",
            "cyclone",
            "blizzard",
            "tornado",
            "lash",
            "batter",
            "pound",
        ],
    ),
    ("flood", &["flood", "flooding", "inundate"]),
    ("earthquake", &["earthquake", "quake", "tremor"]),
    (
        "cut",
        &[
            "cut",
            "layoff",
            "layoffs",
            "lay",
            "eliminate",
            "elimination",
            "slash",
            "axe",
        ],
    ),
    (
        "results",
        &["results", "earnings", "profit", "loss", "revenue"],
    ),
    ("resign", &["resign", "resignation", "quit"]),
    ("appoint", &["appoint", "appointment"]),
    (
        "inaugurate",
        &["inaugurate", "inauguration", "swear", "sworn"],
    ),
    ("sign", &["sign", "signing"]),
    (
        "agree",
        &["agree", "agreement", "deal", "accord", "pact", "treaty"],
    ),
    (
        "visit",
        &["visit", "trip", "travel", "tour", "arrive", "arrival"],
    ),
    ("sanction", &["sanction", "embargo"]),
    (
        "protest",
        &["protest", "rally", "demonstration", "demonstrate"],
    ),
    ("ban", &["ban", "prohibit", "prohibition"]),
    ("evacuate", &["evacuate", "evacuation"]),
    (
        "approve",
        &[
            "approve",
            "approval",
            "authorize",
            "authorise",
            "ratify",
            "ratification",
        ],
    ),
    ("kill", &["kill", "killing"]),
    ("die", &["die", "death"]),
    ("threaten", &["threaten", "threat", "warn", "warning"]),
    (
        "fall",
        &[
            "fall", "drop", "decline", "slide", "slump", "plunge", "tumble", "sink",
        ],
    ),
    ("rise", &["rise", "climb", "gain", "jump", "surge", "soar"]),
    ("explode", &["explode", "explosion", "blast"]),
    (
        "acquire",
        &["acquire", "acquisition", "buy", "purchase", "takeover"],
    ),
    ("merge", &["merge", "merger"]),
    ("release", &["release", "free"]),
    ("withdraw", &["withdraw", "withdrawal"]),
    ("invade", &["invade", "invasion"]),
    ("ceasefire", &["ceasefire", "truce", "armistice"]),
];

/// Irregular verb forms and their base form, for [`stem`].
const IRREGULAR: &[(&str, &str)] = &[
    ("met", "meet"),
    ("said", "say"),
    ("says", "say"),
    ("told", "tell"),
    ("held", "hold"),
    ("took", "take"),
    ("taken", "take"),
    ("won", "win"),
    ("lost", "lose"),
    ("fell", "fall"),
    ("fallen", "fall"),
    ("rose", "rise"),
    ("risen", "rise"),
    ("shot", "shoot"),
    ("struck", "strike"),
    ("fought", "fight"),
    ("sold", "sell"),
    ("bought", "buy"),
    ("led", "lead"),
    ("ran", "run"),
    ("left", "leave"),
    ("began", "begin"),
    ("begun", "begin"),
    ("gave", "give"),
    ("given", "give"),
    ("made", "make"),
    ("came", "come"),
    ("went", "go"),
    ("gone", "go"),
    ("saw", "see"),
    ("seen", "see"),
    ("sent", "send"),
    ("spoke", "speak"),
    ("spoken", "speak"),
    ("broke", "break"),
    ("broken", "break"),
    ("chose", "choose"),
    ("chosen", "choose"),
    ("drew", "draw"),
    ("drawn", "draw"),
    ("flew", "fly"),
    ("flown", "fly"),
    ("froze", "freeze"),
    ("frozen", "freeze"),
    ("grew", "grow"),
    ("grown", "grow"),
    ("knew", "know"),
    ("known", "know"),
    ("threw", "throw"),
    ("thrown", "throw"),
    ("shown", "show"),
    ("wrote", "write"),
    ("written", "write"),
    ("drove", "drive"),
    ("driven", "drive"),
    ("beaten", "beat"),
    ("stole", "steal"),
    ("stolen", "steal"),
    ("laid", "lay"),
    ("paid", "pay"),
    ("sank", "sink"),
    ("sunk", "sink"),
    ("fled", "flee"),
    ("swore", "swear"),
    ("sworn", "swear"),
    ("withdrew", "withdraw"),
    ("withdrawn", "withdraw"),
    ("slid", "slide"),
    ("dealt", "deal"),
    ("felt", "feel"),
    ("kept", "keep"),
    ("built", "build"),
    ("sought", "seek"),
    ("caught", "catch"),
    ("brought", "bring"),
    ("thought", "think"),
    ("found", "find"),
    ("stood", "stand"),
    ("spent", "spend"),
    ("heard", "hear"),
    ("got", "get"),
    ("became", "become"),
    ("died", "die"),
    ("dying", "die"),
    ("dies", "die"),
    ("lied", "lie"),
    ("tied", "tie"),
];

/// A light stemmer: lowercase, no possessive, irregular forms to their base, then plural,
/// `-ing` and `-ed` endings, doubled final consonants and a final `e` removed. It is only
/// required to be consistent ("closure", "closed", "close" need not share a stem: the class
/// table lists "closure"), so it is applied alike to triggers and to the table.
pub fn stem(word: &str) -> String {
    let lower = word.trim().to_lowercase().replace('\u{2019}', "'");
    let lower = lower.strip_suffix("'s").unwrap_or(&lower);
    let mut w: String = lower.chars().filter(|c| c.is_alphanumeric()).collect();
    if let Some((_, base)) = IRREGULAR.iter().find(|(form, _)| *form == w) {
        w = (*base).to_string();
    }
    let n = w.chars().count();
    if n > 4 && (w.ends_with("ies") || w.ends_with("ied")) {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if w.ends_with("sses") {
        w.truncate(w.len() - 2);
    } else if n > 3
        && w.ends_with('s')
        && !w.ends_with("ss")
        && !w.ends_with("us")
        && !w.ends_with("is")
    {
        w.pop();
    }
    let n = w.chars().count();
    if n >= 6 && w.ends_with("ing") {
        w.truncate(w.len() - 3);
    } else if n >= 5 && w.ends_with("ed") {
        w.truncate(w.len() - 2);
    }
    let b = w.as_bytes();
    if b.len() >= 3 {
        let (x, y) = (b[b.len() - 1], b[b.len() - 2]);
        if x == y && x.is_ascii_alphabetic() && !matches!(x, b'l' | b's' | b'z' | b'e' | b'o') {
            w.pop();
        }
    }
    while w.chars().count() > 3 && w.ends_with('e') {
        w.pop();
    }
    w
}

/// Stem of every word of [`TRIGGER_CLASSES`] -> its class name.
fn class_table() -> &'static HashMap<String, &'static str> {
    static TABLE: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut m = HashMap::new();
        for (class, words) in TRIGGER_CLASSES {
            m.insert(stem(class), *class);
            for w in *words {
                m.insert(stem(w), *class);
            }
        }
        m
    })
}

/// The normalised trigger: the synonym class of its stem ("talks", "summit", "met" -> `meet`;
/// "fired", "launched" -> `launch`; "said", "announced", "statement" -> `say`), else the stem
/// itself ("tests", "tested", "testing" -> `test`). A hyphenated trigger not in the table is
/// classed by its last part ("test-fired" -> `launch`). Empty for an empty trigger.
pub fn trigger_class(trigger: &str) -> String {
    let table = class_table();
    let whole = stem(trigger);
    if let Some(class) = table.get(&whole) {
        return (*class).to_string();
    }
    if trigger.contains('-')
        && let Some(last) = trigger.rsplit('-').find(|p| !p.trim().is_empty())
    {
        let s = stem(last);
        if let Some(class) = table.get(&s) {
            return (*class).to_string();
        }
    }
    whole
}

/// Support verbs: verbs that say little of their own and hand the event to the event word they
/// govern ("carried out a test", "followed an engine test", "posted a loss", "forced the
/// closure", "found guilty", "set sentencing", "will bring flooding"). Compared by [`stem`].
pub const SUPPORT_VERBS: &[&str] = &[
    "carry", "conduct", "perform", "stage", "follow", "post", "record", "force", "cause", "prompt",
    "trigger", "lead", "set", "find", "bring", "make", "give", "take", "get", "receive", "hold",
    "see", "mark", "suffer", "deliver", "issue", "hand", "face", "begin", "start", "end", "order",
    "call",
];

/// How many words of the phrase after a support verb are searched for the event word.
const SUPPORT_REACH: usize = 6;

/// The class of an event's trigger ([`trigger_class`]); for a support verb ([`SUPPORT_VERBS`]),
/// the class of the first word after it in the phrase that belongs to a class of
/// [`TRIGGER_CLASSES`] ("posted its first quarterly loss" -> `results`), if any.
pub fn event_class(event: &EventInfo) -> String {
    let class = trigger_class(&event.trigger);
    static SUPPORT: OnceLock<HashSet<String>> = OnceLock::new();
    let support = SUPPORT.get_or_init(|| SUPPORT_VERBS.iter().map(|v| stem(v)).collect());
    if !support.contains(&stem(&event.trigger)) {
        return class;
    }
    let table = class_table();
    let words: Vec<&str> = event
        .phrase
        .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\''))
        .filter(|w| !w.is_empty())
        .collect();
    let after = words
        .iter()
        .position(|w| w.eq_ignore_ascii_case(&event.trigger))
        .map_or(0, |i| i + 1);
    words
        .iter()
        .skip(after)
        .take(SUPPORT_REACH)
        .find_map(|w| table.get(&stem(w)))
        .map_or(class, |c| (*c).to_string())
}

/// The entity keys of an event: its participants and its place, through the alias table, in
/// order of appearance, without duplicates.
pub fn entity_keys(event: &EventInfo, aliases: &Aliases) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for name in event.participants.iter().chain(event.location.iter()) {
        if let Some(k) = aliases.key_for(name)
            && !keys.contains(&k)
        {
            keys.push(k);
        }
    }
    keys
}

/// Minutes since midnight of a TIMEX3 clock time (`2019-12-14T22:41`), with its UTC offset
/// text (empty when none), or `None` for dates and parts of day (`TAF`).
fn clock(value: &str) -> Option<(i64, &str)> {
    let (_, time) = value.split_once('T')?;
    let b = time.as_bytes();
    if b.len() < 5 || b[2] != b':' || !b[..2].iter().chain(&b[3..5]).all(u8::is_ascii_digit) {
        return None;
    }
    let h = i64::from(b[0] - b'0') * 10 + i64::from(b[1] - b'0');
    let m = i64::from(b[3] - b'0') * 10 + i64::from(b[4] - b'0');
    let rest = time.get(5..).unwrap_or("");
    // Skip seconds, keep the offset ("Z", "+09:00", "-04:00").
    let offset = rest.trim_start_matches(|c: char| c == ':' || c.is_ascii_digit());
    Some((h * 60 + m, offset))
}

fn span_days(start: NaiveDate, end: NaiveDate) -> i64 {
    (end - start).num_days()
}

/// Whether two dates can be the date of one event: the same interval (at most
/// [`MAX_SPAN_DAYS`] long), or one interval inside the other when the wider is at most
/// [`MAX_NESTED_SPAN_DAYS`] long (a month: "June 12, 2018" and "June 2018", "Dec. 7" and "last
/// week"). Two different days never match, nor a day and a year or a decade. Two clock times on
/// the same day (same UTC offset) match only within [`MAX_TIME_GAP_MINUTES`].
pub fn dates_compatible(a: &DateInfo, b: &DateInfo) -> bool {
    let (sa, sb) = (span_days(a.start, a.end), span_days(b.start, b.end));
    if sa < 0 || sb < 0 {
        return false;
    }
    let same = a.start == b.start && a.end == b.end;
    let nested = (a.start <= b.start && b.end <= a.end) || (b.start <= a.start && a.end <= b.end);
    let ok = if same {
        sa <= MAX_SPAN_DAYS
    } else {
        nested && sa.max(sb) <= MAX_NESTED_SPAN_DAYS
    };
    if !ok {
        return false;
    }
    if let (Some((ma, oa)), Some((mb, ob))) = (clock(&a.value), clock(&b.value))
        && same
        && oa == ob
        && (ma - mb).abs() > MAX_TIME_GAP_MINUTES
    {
        return false;
    }
    true
}

/// Whether two entity keys name the same entity: equal, or one is the leading or trailing part
/// of the other at a word boundary: a surname ("fico" and "robert-fico", "bankman-fried" and
/// "sam-bankman-fried") or a company's short name ("norvik" and "norvik-motors").
fn same_entity(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (short, long) = if a.len() < b.len() { (a, b) } else { (b, a) };
    short.chars().count() >= 3
        && (long
            .strip_suffix(short)
            .is_some_and(|head| head.ends_with('-'))
            || long
                .strip_prefix(short)
                .is_some_and(|tail| tail.starts_with('-')))
}

/// Number of entities of `a` that also appear in `b` ([`same_entity`]).
fn overlap(a: &[String], b: &[String]) -> usize {
    a.iter()
        .filter(|x| b.iter().any(|y| same_entity(x, y)))
        .count()
}

fn single_day(d: &DateInfo) -> bool {
    d.start == d.end
}

/// Whether `incoming` reports the same real event as the entry `existing` (the rules are in the
/// module docs).
pub fn same_event(existing: &Candidate<'_>, incoming: &Candidate<'_>) -> bool {
    let (ca, cb) = (event_class(existing.event), event_class(incoming.event));
    if ca.is_empty() || ca != cb {
        return false;
    }
    let negated = |c: &Candidate<'_>| c.event.modality == Modality::Negated;
    if negated(existing) != negated(incoming) {
        return false;
    }
    if !dates_compatible(existing.date, incoming.date) {
        return false;
    }
    if existing.entities.is_empty() || incoming.entities.is_empty() {
        return single_day(existing.date)
            && single_day(incoming.date)
            && existing.date.start == incoming.date.start;
    }
    overlap(existing.entities, incoming.entities) > 0
}

/// The candidate `incoming` joins: among those that are [`same_event`], the one with the same
/// interval rather than a nested one, then the most shared entities, then the same trigger
/// word; ties go to the lowest index. `None` when none matches.
pub fn best_match(candidates: &[Candidate<'_>], incoming: &Candidate<'_>) -> Option<usize> {
    let mut best: Option<((bool, usize, bool), usize)> = None;
    for (i, c) in candidates.iter().enumerate() {
        if !same_event(c, incoming) {
            continue;
        }
        let score = (
            c.date.start == incoming.date.start && c.date.end == incoming.date.end,
            overlap(c.entities, incoming.entities),
            c.event
                .trigger
                .eq_ignore_ascii_case(&incoming.event.trigger),
        );
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, i));
        }
    }
    best.map(|(_, i)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_word_is_in_two_classes() {
        let mut seen: HashMap<String, &str> = HashMap::new();
        for (class, words) in TRIGGER_CLASSES {
            for w in std::iter::once(class).chain(words.iter()) {
                let s = stem(w);
                if let Some(other) = seen.insert(s.clone(), class) {
                    assert_eq!(
                        other, *class,
                        "{w:?} (stem {s:?}) is in {other} and {class}"
                    );
                }
            }
        }
    }

    #[test]
    fn stems_are_consistent() {
        for (forms, want) in [
            (&["test", "tests", "tested", "testing"][..], "test"),
            (&["close", "closes", "closed", "closing"][..], "clos"),
            (&["plan", "plans", "planned", "planning"][..], "plan"),
            (&["agree", "agrees", "agreed"][..], "agr"),
            (&["deny", "denies", "denied"][..], "deny"),
        ] {
            for f in forms {
                assert_eq!(stem(f), want, "{f}");
            }
        }
    }

    #[test]
    fn clock_times() {
        assert_eq!(clock("2019-12-14T22:41"), Some((22 * 60 + 41, "")));
        assert_eq!(clock("2019-12-16T10:32-04:00"), Some((632, "-04:00")));
        assert_eq!(clock("2019-12-07TAF"), None);
        assert_eq!(clock("2019-12-07"), None);
    }
}
