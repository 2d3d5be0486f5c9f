//! Merge rules: when two article-level records report the same real event.
//!
//! Several outlets report one event with different words and dates ("conducted a test on
//! Saturday", "the Dec. 7 test", "tested an engine last week"). The timeline store keeps one
//! entry per real event and asks [`best_match`] which entry an incoming record joins. Two
//! reports are the same event ([`same_event`]) when all of these hold:
//!
//! 1. **Trigger.** Their triggers fall in the same class ([`trigger_class`]): the same word up to
//!    inflection ("tests", "tested", "testing"), or synonyms from one class of
//!    [`TRIGGER_CLASSES`] ("talks", "summit", "met"). The class is read from the report's
//!    sentence when the trigger word is not the event ([`event_class_dated`]): a support verb
//!    hands it to the event word it governs ("posted its first quarterly loss" is `results`,
//!    "found X, the founder of Y, guilty" is `convict`), a noun that modifies another to its
//!    noun phrase's event word ("a test at the launch site" is `test`), "closed to traffic" is
//!    `close`, and a date attached to an event noun dates that noun ("Thursday's sentencing ...
//!    closes the chapter" is `sentence`). The extractor's trigger is left as it is: this only
//!    decides what reports are compared as. A report without a trigger matches nothing.
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
//!
//! Among several matching entries, [`best_match`] prefers the same interval, then the most
//! shared entities, then the entry with the most entities (the one most reports went into).

use std::borrow::Cow;
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

/// A date as merging reads it: its interval and TIMEX3 value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct When<'a> {
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// TIMEX3 value (clock times are compared).
    pub value: &'a str,
}

impl<'a> From<&'a DateInfo> for When<'a> {
    fn from(d: &'a DateInfo) -> Self {
        When {
            start: d.start,
            end: d.end,
            value: &d.value,
        }
    }
}

/// Entity keys: a record's own, or the shared (interned) ones the store keeps.
#[derive(Debug, Clone, Copy)]
pub enum Entities<'a> {
    /// A record's keys.
    Owned(&'a [String]),
    /// The store's interned keys.
    Shared(&'a [std::sync::Arc<str>]),
}

impl<'a> Entities<'a> {
    /// How many keys satisfy `f`.
    fn count(self, f: impl Fn(&str) -> bool) -> usize {
        match self {
            Entities::Owned(v) => v.iter().filter(|s| f(s)).count(),
            Entities::Shared(v) => v.iter().filter(|s| f(s)).count(),
        }
    }

    /// Whether a key satisfies `f`.
    fn any(self, f: impl Fn(&str) -> bool) -> bool {
        match self {
            Entities::Owned(v) => v.iter().any(|s| f(s)),
            Entities::Shared(v) => v.iter().any(|s| f(s)),
        }
    }

    fn len(self) -> usize {
        match self {
            Entities::Owned(v) => v.len(),
            Entities::Shared(v) => v.len(),
        }
    }

    fn is_empty(self) -> bool {
        self.len() == 0
    }
}

/// What the store keeps of an entry to compare reports with.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// The entry's date (the most precise report's).
    pub date: When<'a>,
    /// The trigger of the entry's event (the first report's).
    pub trigger: &'a str,
    /// Whether that event is negated ([`Modality::Negated`]).
    pub negated: bool,
    /// Entity keys of every report merged so far ([`entity_keys`]).
    pub entities: Entities<'a>,
    /// [`event_class_dated`] of `event` and `date`: computed once per entry (the store keeps
    /// it) instead of once per comparison, since it reads the whole sentence.
    pub class: Cow<'a, str>,
}

impl<'a> Candidate<'a> {
    /// A candidate whose class is computed here.
    pub fn of(date: &'a DateInfo, event: &'a EventInfo, entities: &'a [String]) -> Self {
        Candidate {
            date: date.into(),
            trigger: &event.trigger,
            negated: event.modality == Modality::Negated,
            entities: Entities::Owned(entities),
            class: Cow::Owned(event_class_dated(event, Some(&date.text))),
        }
    }
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
    // Taking office: a government appointed and sworn in on one day is one event.
    (
        "inaugurate",
        &[
            "inaugurate",
            "inauguration",
            "swear",
            "sworn",
            "office",
            "appoint",
            "appointment",
        ],
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
    known_class(trigger).map_or_else(|| stem(trigger), str::to_string)
}

/// Support verbs: verbs that say little of their own and hand the event to the event word they
/// govern ("carried out a test", "followed an engine test", "posted a loss", "forced the
/// closure", "found guilty", "set sentencing", "will bring flooding", "received a prison
/// sentence", "took office"); without one after them, to the event word they are said of ("the
/// layoffs ... will begin"). Outcome verbs belong here too: the contest they name is the event
/// ("won the election" reports the election). Compared by [`stem`].
pub const SUPPORT_VERBS: &[&str] = &[
    "carry", "conduct", "perform", "stage", "follow", "post", "record", "force", "cause", "prompt",
    "trigger", "lead", "set", "find", "bring", "make", "give", "take", "get", "receive", "hold",
    "see", "mark", "suffer", "deliver", "issue", "hand", "face", "begin", "start", "end", "order",
    "call", "win", "lose",
];

/// How many words of the clause after a support verb are searched for the event word ("found
/// Sam Bankman-Fried, the founder of the collapsed exchange FTX, guilty").
const SUPPORT_REACH: usize = 12;

/// How many words of the clause before a support verb are searched for the event word when none
/// follows it ("The layoffs, concentrated at the Lansing plant, will begin").
const SUBJECT_REACH: usize = 10;

/// Words that end the stretch of a clause searched for an event word: what follows them is
/// another event ("took office on Oct. 25, less than four weeks after the election").
const SUBORDINATORS: &[&str] = &[
    "after",
    "before",
    "since",
    "until",
    "when",
    "while",
    "because",
    "although",
    "though",
    "unless",
    "amid",
    "despite",
    "following",
    "during",
    "saying",
    "that",
    "which",
    "who",
    "whose",
    "where",
    "than",
];

/// How many words before a noun used as a modifier ("launch site") are searched for the event
/// word of its noun phrase ("conducted a test at the Sohae satellite launch site").
const MODIFIER_REACH: usize = 8;

/// The class of one word when it is in [`TRIGGER_CLASSES`] (a hyphenated word by its last part:
/// "test-fired" -> `launch`).
fn known_class(word: &str) -> Option<&'static str> {
    let table = class_table();
    if let Some(class) = table.get(&stem(word)) {
        return Some(class);
    }
    if word.contains('-')
        && let Some(last) = word.rsplit('-').find(|p| !p.trim().is_empty())
    {
        return table.get(&stem(last)).copied();
    }
    None
}

/// A word of an event's sentence. Punctuation marks are words of their own and a possessive is
/// split off ("Thursday's" -> "Thursday", "'s"), so a date's text is found word by word.
#[derive(Debug)]
struct Word {
    lower: String,
    /// Starts with a capital: a name, not an event word (the "States" of "United States").
    capital: bool,
}

impl Word {
    fn is_punct(&self) -> bool {
        !self.lower.chars().any(char::is_alphanumeric)
    }

    /// Ends a clause, or the part of it that belongs to one event: an event word is never
    /// searched across it.
    fn is_break(&self) -> bool {
        matches!(
            self.lower.as_str(),
            ";" | ":" | "--" | "\u{2014}" | "\u{2013}" | "(" | ")"
        ) || SUBORDINATORS.contains(&self.lower.as_str())
    }

    /// A past form: "closed", "shut" is not one, "held" is.
    fn is_past(&self) -> bool {
        let w = self.lower.as_str();
        (w.len() > 4 && w.ends_with("ed") && !w.ends_with("eed"))
            || crate::events::lexicon::IRREGULAR_PAST.contains(w)
    }

    /// Looks like a verb form (past, third person of a frequent verb, auxiliary) rather than the
    /// noun an event is named by.
    fn is_verbal(&self) -> bool {
        use crate::events::lexicon;
        let w = self.lower.as_str();
        (w.len() > 4 && w.ends_with("ed") && !w.ends_with("eed"))
            || lexicon::IRREGULAR_PAST.contains(w)
            || lexicon::COMMON_VERBS.contains(w)
            || lexicon::REPORTING_VERBS.contains(w)
            || lexicon::LIGHT_VERBS.contains(w)
            || lexicon::MODALS.contains(w)
    }

    /// A plain lowercase content word: not punctuation, a function word or a verb form.
    fn is_plain(&self) -> bool {
        use crate::events::lexicon;
        let w = self.lower.as_str();
        !self.capital
            && !self.is_punct()
            && w.chars().all(|c| c.is_alphabetic() || c == '-')
            && !lexicon::FUNCTION_WORDS.contains(w)
            && !lexicon::PHRASE_STOPS.contains(w)
            && !matches!(w, "'s" | "near" | "between" | "against" | "about")
            && !self.is_verbal()
    }

    /// The class of a lowercase word ([`known_class`]); names have none.
    fn class(&self) -> Option<&'static str> {
        if self.capital || self.is_punct() {
            return None;
        }
        known_class(&self.lower)
    }
}

fn split_words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut push = |s: &str| {
        if !s.is_empty() {
            out.push(Word {
                lower: s.to_lowercase().replace('\u{2019}', "'"),
                capital: s.starts_with(char::is_uppercase),
            });
        }
    };
    for chunk in text.split_whitespace() {
        let start = chunk.find(char::is_alphanumeric).unwrap_or(chunk.len());
        let end = chunk.rfind(char::is_alphanumeric).map_or(start, |i| {
            i + chunk[i..].chars().next().map_or(1, char::len_utf8)
        });
        let end = end.max(start);
        for c in chunk[..start].chars() {
            push(c.encode_utf8(&mut [0; 4]));
        }
        let core = &chunk[start..end];
        let possessive = ["'s", "\u{2019}s"]
            .iter()
            .find_map(|p| core.strip_suffix(p).filter(|c| !c.is_empty()));
        match possessive {
            Some(owner) => {
                push(owner);
                push("'s");
            }
            None => push(core),
        }
        // Trailing marks; a dash or a run of dots is one mark.
        let tail = &chunk[end..];
        if tail.starts_with("--") || tail.chars().all(|c| c == '.') {
            push(tail);
        } else {
            for c in tail.chars() {
                push(c.encode_utf8(&mut [0; 4]));
            }
        }
    }
    out
}

/// Where `needle` occurs in `hay` as consecutive words (same lowercase forms).
fn occurrences(hay: &[Word], needle: &[Word]) -> Vec<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return Vec::new();
    }
    (0..=hay.len() - needle.len())
        .filter(|&i| {
            needle
                .iter()
                .zip(&hay[i..])
                .all(|(a, b)| a.lower == b.lower)
        })
        .collect()
}

/// The event's sentence with the positions of its trigger and (when given and found) its date.
struct Reading {
    words: Vec<Word>,
    trigger: usize,
    /// First and one-past-last word of the date.
    date: Option<(usize, usize)>,
}

impl Reading {
    /// Reads `event.sentence`; `None` when the trigger cannot be found in it.
    fn new(event: &EventInfo, date_text: Option<&str>) -> Option<Reading> {
        let words = split_words(&event.sentence);
        let trigger = {
            let t = split_words(&event.trigger);
            let phrase = split_words(&event.phrase);
            let within = occurrences(&phrase, &t).first().copied();
            let via_phrase =
                within.and_then(|k| occurrences(&words, &phrase).first().map(|start| start + k));
            via_phrase.or_else(|| occurrences(&words, &t).first().copied())?
        };
        let date = date_text.and_then(|text| {
            let d = split_words(text);
            occurrences(&words, &d)
                .into_iter()
                .min_by_key(|&i| i.abs_diff(trigger))
                .map(|i| (i, i + d.len()))
        });
        Some(Reading {
            words,
            trigger,
            date,
        })
    }

    /// The class of the first event word among `range` (in its order): a lowercase word of a
    /// class that is not a verb form (verbs are events of their own) nor a modifier. The
    /// search stops at a clause break ([`Word::is_break`]) and after `reach` words.
    fn class_in(&self, range: impl Iterator<Item = usize>, reach: usize) -> Option<&'static str> {
        let mut seen = 0;
        for k in range {
            let w = self.words.get(k)?;
            if w.is_break() {
                return None;
            }
            if w.is_punct() {
                continue;
            }
            if let Some(class) = w.class().filter(|_| !w.is_verbal() && !self.is_modifier(k)) {
                return Some(class);
            }
            seen += 1;
            if seen >= reach {
                return None;
            }
        }
        None
    }

    /// Whether the word at `k` modifies the plain noun after it ("launch site", "test stand").
    /// The date's own words are not nouns of the phrase ("the storms last week").
    fn is_modifier(&self, k: usize) -> bool {
        let in_date = self
            .date
            .is_some_and(|(ds, de)| (ds..de).contains(&(k + 1)));
        !in_date
            && self
                .words
                .get(k + 1)
                .is_some_and(|next| next.is_plain() && next.class().is_none())
    }

    /// The event class this reading gives, if it says more than the trigger word alone.
    fn class(&self, event: &EventInfo) -> Option<&'static str> {
        let w = &self.words;
        let t = self.trigger;
        // The event noun the date is attached to, when the trigger is a verb after the date:
        // "Last Thursday's sentencing ... closes", "the closure on Jan. 10 snarled traffic".
        // (Before the date, a verb and its object are dated together: "announced the layoffs on
        // Oct. 24".)
        if let Some((ds, de)) = self.date.filter(|(_, de)| t >= *de) {
            if w.get(de).is_some_and(|x| x.lower == "'s")
                && let Some(class) = self.class_in(de + 1..de + 4, 3)
            {
                return Some(class);
            }
            if ds >= 2
                && matches!(w[ds - 1].lower.as_str(), "on" | "in")
                && !w[ds - 2].is_verbal()
                && let Some(class) = w[ds - 2].class()
            {
                return Some(class);
            }
        }
        // "met Kang on Monday and urged Pyongyang": a date before "and" and the trigger dates
        // the verb before it.
        if let Some((ds, de)) = self.date
            && (de..t).all(|k| matches!(w[k].lower.as_str(), "and" | ","))
            && (de..t).any(|k| w[k].lower == "and")
        {
            let mut seen = 0;
            for k in (0..ds).rev() {
                if w[k].is_break() || seen >= SUBJECT_REACH {
                    break;
                }
                if w[k].is_past()
                    && let Some(class) = w[k].class()
                {
                    return Some(class);
                }
                seen += usize::from(!w[k].is_punct());
            }
        }
        let trigger_stem = stem(&event.trigger);
        static SUPPORT: OnceLock<HashSet<String>> = OnceLock::new();
        let support = SUPPORT.get_or_init(|| SUPPORT_VERBS.iter().map(|v| stem(v)).collect());
        if support.contains(&trigger_stem) {
            return self
                .class_in(t + 1..w.len(), SUPPORT_REACH)
                .or_else(|| self.class_in((0..t).rev(), SUBJECT_REACH));
        }
        // "closed to traffic": not an infinitive but the object of a participle's "to".
        if known_class(&event.trigger).is_none()
            && t >= 2
            && w[t - 1].lower == "to"
            && w[t - 2].is_past()
            && let Some(class) = w[t - 2].class()
        {
            return Some(class);
        }
        // "a test at the Sohae satellite launch site": the trigger modifies a noun; the event is
        // the noun phrase's own event word before it, if any.
        if self.is_modifier(t) && event.phrase.to_lowercase().ends_with(&w[t].lower) {
            return self.class_in((t.saturating_sub(MODIFIER_REACH)..t).rev(), MODIFIER_REACH);
        }
        None
    }
}

/// The class of an event's trigger ([`trigger_class`]), corrected by reading the event's
/// sentence:
///
/// - a support verb ([`SUPPORT_VERBS`]) takes the class of the first event word after it in its
///   clause ("posted its first quarterly loss" -> `results`), else of the one before it ("the
///   layoffs ... will begin" -> `cut`);
/// - a word after a participle's "to" takes the participle's class ("closed to traffic" ->
///   `close`);
/// - a noun that modifies another noun takes the class of its noun phrase's event word ("a test
///   at the Sohae satellite launch site" -> `test`).
///
/// Without a sentence, the phrase is read instead. See [`event_class_dated`] for the date's own
/// event noun.
pub fn event_class(event: &EventInfo) -> String {
    event_class_dated(event, None)
}

/// [`event_class`], and first of all the event noun the date is attached to when `date_text`
/// is found in the sentence: "Last Thursday's sentencing ... closes the chapter" -> `sentence`,
/// "The bridge closure on Jan. 10 snarled traffic" -> `close`.
pub fn event_class_dated(event: &EventInfo, date_text: Option<&str>) -> String {
    let class = trigger_class(&event.trigger);
    if class.is_empty() {
        return class;
    }
    let reading = Reading::new(event, date_text).or_else(|| {
        // No sentence (or the trigger is not in it): the phrase is all there is to read.
        let alone = EventInfo {
            sentence: event.phrase.clone(),
            ..event.clone()
        };
        Reading::new(&alone, None)
    });
    reading
        .and_then(|r| r.class(event))
        .map_or(class, str::to_string)
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
    when_compatible(a.into(), b.into())
}

/// [`dates_compatible`] on the parts of the dates it reads.
pub fn when_compatible(a: When<'_>, b: When<'_>) -> bool {
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
    if let (Some((ma, oa)), Some((mb, ob))) = (clock(a.value), clock(b.value))
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
fn overlap(a: Entities<'_>, b: Entities<'_>) -> usize {
    a.count(|x| b.any(|y| same_entity(x, y)))
}

fn single_day(d: When<'_>) -> bool {
    d.start == d.end
}

/// Whether `incoming` reports the same real event as the entry `existing` (the rules are in the
/// module docs).
pub fn same_event(existing: &Candidate<'_>, incoming: &Candidate<'_>) -> bool {
    if existing.class.is_empty() || existing.class != incoming.class {
        return false;
    }
    if existing.negated != incoming.negated {
        return false;
    }
    if !when_compatible(existing.date, incoming.date) {
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
/// interval rather than a nested one, then the most shared entities, then the most entities (an
/// entry gathers the entities of every report merged into it, so this is the better-attested
/// entry: a report that names nobody joins the entry of ten reports rather than a stray one),
/// then the same trigger word; ties go to the lowest index. `None` when none matches.
pub fn best_match(candidates: &[Candidate<'_>], incoming: &Candidate<'_>) -> Option<usize> {
    let mut best: Option<((bool, usize, usize, bool), usize)> = None;
    for (i, c) in candidates.iter().enumerate() {
        if !same_event(c, incoming) {
            continue;
        }
        let score = (
            c.date.start == incoming.date.start && c.date.end == incoming.date.end,
            overlap(c.entities, incoming.entities),
            c.entities.len(),
            c.trigger.eq_ignore_ascii_case(incoming.trigger),
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
