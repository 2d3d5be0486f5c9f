//! Extraction rules: the rule table, as data.
//!
//! Each [`Rule`] has a name, a pattern with *named* parts, a production that turns the parts into
//! an underspecified [`Partial`] value, and example phrases with the value they must resolve to
//! under the fixed reference time of the table test (Tuesday 2019-12-17T06:11+09:00). Phrases in
//! [`NEGATIVES`] must stay untagged.
//!
//! All rules are compiled into one multi-pattern regex (leftmost-first: at a position the
//! earlier rule in [`RULES`] wins, so composite rules come before their parts). Patterns are
//! case-insensitive except for month and weekday names (`{MONTH}`, `{WEEKDAY}`), which must be
//! capitalised: "may" and "march" are words, "May" and "March" months. A group named `t`, when
//! present, is the span of the expression (context words outside it are matched but not tagged).

use std::ops::Range;
use std::sync::LazyLock;

use chrono::Weekday;
use regex_automata::meta::Regex;
use regex_automata::util::captures::Captures;
use regex_automata::{Input, util::syntax};

use super::Mod;
use super::value::{Dir, Partial, Season, Unit, YearRef};

/// One rule of the table.
pub struct Rule {
    /// Unique name, reported on every expression the rule finds.
    pub name: &'static str,
    /// Pattern with named parts; `{MACRO}`s are expanded from [`MACROS`].
    pub pattern: &'static str,
    /// Turns a match into expressions, or rejects it (`None`) after looking at its context.
    pub produce: fn(&Hit) -> Option<Vec<Found>>,
    /// Example phrases and the TIMEX3 values they give (several values: `|`-separated, in order).
    pub examples: &'static [(&'static str, &'static str)],
}

/// An expression as found, before resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Byte span in the text.
    pub span: Range<usize>,
    /// The value as written.
    pub partial: Partial,
    /// TIMEX3 mod.
    pub modifier: Option<Mod>,
    /// Name of the rule.
    pub rule: &'static str,
    /// This expression starts a range whose end is the next expression.
    pub range_start: bool,
}

/// A match of one rule, with access to its named parts and the text around it.
pub struct Hit<'a> {
    text: &'a str,
    caps: &'a Captures,
    span: Range<usize>,
}

impl<'a> Hit<'a> {
    /// The text of the named part, if it took part in the match.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        let s = self.caps.get_group_by_name(name)?;
        self.text.get(s.start..s.end)
    }
    /// The byte span of the named part.
    pub fn span_of(&self, name: &str) -> Option<Range<usize>> {
        self.caps.get_group_by_name(name).map(|s| s.start..s.end)
    }
    /// The span of the expression: group `t` if present, else the whole match.
    pub fn span(&self) -> Range<usize> {
        self.span_of("t").unwrap_or_else(|| self.span.clone())
    }
    /// The word before the match, lowercased ("" at the start of the text).
    pub fn prev_word(&self) -> String {
        prev_word(self.text, self.span.start)
    }
    /// The word after the match, as written.
    pub fn next_word(&self) -> &'a str {
        next_word(self.text, self.span.end)
    }
    /// The text right after the match.
    pub fn after(&self) -> &'a str {
        super::window(self.text, self.span.end, self.span.end, 64).1
    }
    /// The text right before the match.
    pub fn before(&self) -> &'a str {
        super::window(self.text, self.span.start, self.span.start, 64).0
    }
    fn one(&self, partial: Partial, modifier: Option<Mod>) -> Option<Vec<Found>> {
        Some(vec![found(self.span(), partial, modifier)])
    }
}

fn found(span: Range<usize>, partial: Partial, modifier: Option<Mod>) -> Found {
    Found {
        span,
        partial,
        modifier,
        rule: "",
        range_start: false,
    }
}

/// The word before byte `at`, lowercased.
pub fn prev_word(text: &str, at: usize) -> String {
    let before = super::window(text, at, at, 64).0.trim_end();
    let start = crate::tagger::after_last(before, |c: char| {
        !(c.is_alphanumeric() || c == '.' || c == '\'' || c == '-' || c == '$')
    });
    before.get(start..).unwrap_or("").to_lowercase()
}

/// The word after byte `at`, as written.
pub fn next_word(text: &str, at: usize) -> &str {
    let after = super::window(text, at, at, 64).1.trim_start();
    let end = after
        .find(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-'))
        .unwrap_or(after.len());
    after.get(..end).unwrap_or("")
}

/// Pattern macros, expanded into rule patterns as `{NAME}`.
pub const MACROS: &[(&str, &str)] = &[
    (
        "MONTH",
        r"(?-i:(?:January|February|March|April|May|June|July|August|September|October|November|December)\b|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b\.?)",
    ),
    (
        "WEEKDAY",
        r"(?-i:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b)",
    ),
    ("DAY", r"(?:3[01]|[12][0-9]|0?[1-9])(?:st|nd|rd|th)?\b"),
    ("YEAR", r"(?:1[0-9]{3}|20[0-9]{2})\b"),
    (
        "NUM",
        r"(?:(?:\d+(?:\.\d+)?|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[-\s](?:one|two|three|four|five|six|seven|eight|nine)\b)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|a\s+hundred|hundreds\s+of|a\s+dozen|dozens\s+of|a|an|several|a\s+few|few|a\s+couple\s+of|couple\s+of|many|some)(?:\s+1/2|\s+and\s+a\s+half)?)",
    ),
    (
        "UNIT",
        r"(?:second|minute|hour|day|week|weekend|month|quarter|year|decade|century|centurie)s?\b",
    ),
    (
        "ZONE",
        r"(?-i:(?:[ECMP][SD]T|GMT|UTC|BST|CET|CEST|EET|EEST|KST|JST|IST|HKT|SGT|AEST|AEDT|MSK)\b)",
    ),
    ("ORD", r"(?:first|second|third|fourth|1st|2nd|3rd|4th)"),
    (
        "CENTORD",
        r"(?:\d{1,2}(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|twenty-first)",
    ),
];

/// Phrases that must stay untagged (checked by the table test).
pub const NEGATIVES: &[&str] = &[
    "The company may raise prices.",
    "Protesters march on the capital.",
    "Fredric March won an Oscar.",
    "He reads The Sunday Times.",
    "The store is open 24/7.",
    "The attacks of 7/11 were different.",
    "Call 555-2019 for details.",
    "Call (202) 555-1997 for help.",
    "Under Section 2015 of the code.",
    "The firm added 2,018 jobs.",
    "The Boeing 1977 model was retired.",
    "It costs $2019 per unit.",
    "He scored 1999 points.",
    "Prices fall as supply grows.",
    "Keep up the spring in your step.",
    "The second half was scoreless.",
    "They repelled a second attack.",
    "Three-quarters of the troops withdrew.",
    "The ministers of Hungary and Jan Kavan of the Czech Republic signed.",
    "He was named Man of the Year.",
    "For the people of Poland, high noon comes.",
    "Sales peak on the busiest day of the week.",
    "Two thousand troops crossed the river.",
    "It is the most recently built plant in the state.",
    "He was not a member at the time of its founding.",
    "At the time Howes was chairman, sales fell.",
    "Take one pill at a time.",
    "Funds must pay departing investors in the weeks ahead.",
    "They kept the secret for more than two thousand years.",
    "The car was seen in the week before the shooting.",
    "Baker said on ABC's \"This Week,\" that talks failed.",
    "Gonzalez said on CBS's \"60 Minutes.\"",
    "The case is for today's youth what the blockade was.",
    "The quarter-to-quarter comparison was also enhanced.",
    "Sales rose on a year-to-year basis.",
    "Orders fell a week-on-week 3%.",
    "He served with the 5th Army.",
    "On the 20th anniversary, they met.",
    "Sales rose by the 3 percent expected.",
    "It raised its stake from the 18.7% it owns.",
    "Vinh Yen was manned by the 6,000 strong brigade.",
    "It will be put to a vote by the 15-member Council.",
    "It was argued in some quarters that he was a nationalist.",
    "The plan drew criticism from many quarters.",
    "Thousands joined the March on Washington.",
    "They walked in the March for Life.",
    "He was seen the day before the shooting.",
    "It came the day after authorities said so.",
    "He was in hospital for a while ago.",
    "For some time ago, they hid.",
    "The Communist Party daily Granma compared him to a saint.",
    "The Israeli daily said the talks had failed.",
    "The news weekly Der Spiegel reported it.",
    "He told USA Today about it.",
    "This is VOA Today.",
];

/// The rule table, in priority order.
pub static RULES: &[Rule] = &[
    // ---- times of day, with zones -------------------------------------------------------
    Rule {
        name: "time_ampm",
        pattern: r"\b(?P<h>1[0-2]|0?[1-9])(?::(?P<m>[0-5]\d))?\s*(?P<ap>[ap])\.?\s?m\b\.?(?:\s+(?P<zone>{ZONE}))?(?:\s*\((?u:[^()\n]){1,24}\))?",
        produce: p_time,
        examples: &[
            (
                "10:32 a.m. EDT (1432 GMT) on Monday",
                "2019-12-16T10:32-04:00",
            ),
            ("at 5 p.m. yesterday", "2019-12-16T17:00"),
            ("Police arrived shortly after 9:15 pm.", "2019-12-17T21:15"),
        ],
    },
    Rule {
        name: "time_24h",
        pattern: r"\b(?P<h>[01]\d|2[0-3]):?(?P<m>[0-5]\d)\s*(?:hours\s+)?(?P<zone>{ZONE})",
        produce: p_time,
        examples: &[("by 1432 GMT on Monday", "2019-12-16T14:32Z")],
    },
    Rule {
        name: "time_at_clock",
        pattern: r"\bat\s+(?P<t>(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)\b(?:\s*(?P<ap>[ap])\.?\s?m\b\.?)?(?:\s+(?P<zone>{ZONE}))?(?:\s*\((?u:[^()\n]){1,24}\))?)",
        produce: p_time,
        examples: &[("He died at 10:58 on Monday.", "2019-12-16T10:58")],
    },
    Rule {
        // "at 4 in the morning", "10 in the evening": a clock hour with its part of the day.
        name: "time_pod",
        pattern: r"\b(?P<h>1[0-2]|0?[1-9])(?::(?P<m>[0-5]\d))?\s+(?:o'clock\s+)?in\s+the\s+(?P<pod>morning|afternoon|evening)\b",
        produce: p_time_pod,
        examples: &[
            ("He will leave at 4 in the morning.", "2019-12-17T04:00"),
            ("at 9 in the evening", "2019-12-17T21:00"),
        ],
    },
    Rule {
        name: "time_noon",
        pattern: r"\b(?P<noon>noon|midday|midnight)\b(?:\s+(?P<zone>{ZONE}))?",
        produce: p_time,
        examples: &[("The talks ended at noon Thursday.", "2019-12-12T12:00")],
    },
    // ---- parts of days ------------------------------------------------------------------
    Rule {
        name: "weekday_set",
        pattern: r"\b(?:every|each)\s+(?P<wd>{WEEKDAY})(?:\s+(?P<pod>morning|afternoon|evening|night)\b)?|(?P<wd2>{WEEKDAY})\s+(?P<pods>mornings|afternoons|evenings|nights)\b|\b(?P<wds>(?-i:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)days))\b",
        produce: p_weekday_set,
        examples: &[
            ("every Monday", "XXXX-WXX-1"),
            ("each Thursday", "XXXX-WXX-4"),
            ("on Tuesday nights", "XXXX-WXX-2TNI"),
            ("closed on Sundays", "XXXX-WXX-7"),
        ],
    },
    Rule {
        name: "next_part",
        pattern: r"\b(?:the\s+(?P<which>next|following|previous)|(?P<that>that|the\s+same))\s+(?P<pod>morning|afternoon|evening|night)\b",
        produce: p_next_part,
        examples: &[
            (
                "It began on June 3. The next morning",
                "2019-06-03|2019-06-04TMO",
            ),
            (
                "It began on June 3. That afternoon",
                "2019-06-03|2019-06-03TAF",
            ),
        ],
    },
    Rule {
        // "They moved only at night": a part of no particular day.
        name: "any_night",
        pattern: r"\b(?:at|by)\s+(?P<t>night)\b",
        produce: p_any_night,
        examples: &[("They travelled at night.", "XXXX-XX-XXTNI")],
    },
    Rule {
        name: "weekday_part",
        pattern: r"(?P<wd>{WEEKDAY})\s+(?P<pod>morning|afternoon|evening|night)\b",
        produce: p_weekday_part,
        examples: &[
            ("Sunday night", "2019-12-15TNI"),
            ("on Monday morning", "2019-12-16TMO"),
        ],
    },
    Rule {
        name: "rel_part",
        pattern: r"\b(?P<rel>yesterday|today|tomorrow|this|last|tomorrow)\s+(?P<pod>morning|afternoon|evening|night)\b|\b(?P<tonight>tonight)\b",
        produce: p_rel_part,
        examples: &[
            ("this morning", "2019-12-17TMO"),
            ("last night", "2019-12-16TNI"),
            ("tonight", "2019-12-17TNI"),
            ("yesterday afternoon", "2019-12-16TAF"),
        ],
    },
    Rule {
        // "orders placed in the morning", "by mid afternoon", "at mid-afternoon yesterday": a
        // part of the day under discussion (the last date mentioned, else the reference day).
        name: "the_part",
        pattern: r"\b(?:in|during|by|at)\s+(?P<t>(?:the\s+(?P<pod>morning|afternoon|evening))|(?P<mid>mid-?\s?)(?P<pod2>morning|afternoon)(?:\s+(?P<rel>yesterday|today))?)\b",
        produce: p_the_part,
        examples: &[
            ("Dealers placed orders in the morning.", "2019-12-17TMO"),
            (
                "In London at mid-afternoon yesterday, shares rose.",
                "2019-12-16TAF",
            ),
        ],
    },
    // ---- ranges and coordination ---------------------------------------------------------
    Rule {
        name: "range_month_days",
        pattern: r"\b(?:between|from)\s+(?P<m1>{MONTH})\s+(?P<d1>{DAY})\s*(?:and|to|through|until|till|-|(?u:–))\s*(?:(?P<m2>{MONTH})\s+)?(?P<d2>{DAY})(?:,?\s+(?P<y>{YEAR}))?",
        produce: p_range_days,
        examples: &[
            ("between Sept. 8 and 11", "2019-09-08|2019-09-11"),
            (
                "Talks were held from March 11 to 13.",
                "2019-03-11|2019-03-13",
            ),
            ("from March 30 to April 2, 2018", "2018-03-30|2018-04-02"),
        ],
    },
    Rule {
        name: "span_month_days",
        pattern: r"(?P<m1>{MONTH})\s+(?P<d1>{DAY})\s*(?:-|(?u:–)|through)\s*(?:(?P<m2>{MONTH})\s+)?(?P<d2>{DAY})(?:,?\s+(?P<y>{YEAR}))?",
        produce: p_range_days,
        examples: &[("March 11-13, 2018", "2018-03-11|2018-03-13")],
    },
    Rule {
        // The month (and year) written once after a span of days belongs to both ends:
        // "12-14 July", "(23-28 March 1951)", "from 15 to 22 February".
        name: "range_days_month",
        pattern: r"\b(?P<d1>{DAY})\s*(?:-|(?u:–)|to|through|until|till)\s*(?P<d2>{DAY})\s+(?:of\s+)?(?P<m2>{MONTH})(?:,?\s+(?P<y>{YEAR}))?",
        produce: p_range_days_month,
        examples: &[
            ("on 12-14 July 1950", "1950-07-12|1950-07-14"),
            ("From 15 to 22 February 1984", "1984-02-15|1984-02-22"),
        ],
    },
    Rule {
        // "(August-September 1950)", "July to November 1954": a range of months sharing a year.
        name: "span_months_year",
        pattern: r"(?P<m1>{MONTH})\s*(?:-|(?u:–)|to|through|until|till)\s*(?P<m2>{MONTH}),?\s+(?P<y>{YEAR})",
        produce: p_range_months,
        examples: &[("(August-September 1950)", "1950-08|1950-09")],
    },
    Rule {
        // "499-493 BC", "from 264 to 241 BC": the era written once applies to both years.
        name: "range_era_years",
        pattern: r"\b(?P<y1>\d{1,4})\s*(?:-|(?u:–)|to|and|until|till)\s*(?P<y2>\d{1,4})\s*(?P<era>(?-i:BC\b|B\.C\.|B\.C\b|BCE\b|B\.C\.E\.))",
        produce: p_range_era_years,
        examples: &[
            ("the Ionian Revolt (499-493 BC)", "BC0499|BC0493"),
            ("from 264 to 241 BC", "BC0264|BC0241"),
        ],
    },
    Rule {
        name: "coord_month_days",
        pattern: r"(?P<m1>{MONTH})\s+(?P<d1>{DAY})(?:,\s*(?P<d2>{DAY}))?,?\s+(?:and|or|&)\s+(?P<d3>{DAY})(?:,?\s+(?P<y>{YEAR}))?",
        produce: p_coord_days,
        examples: &[
            ("on Dec. 7 and 13", "2019-12-07|2019-12-13"),
            (
                "on Nov. 3, 10 and 17, 2018",
                "2018-11-03|2018-11-10|2018-11-17",
            ),
        ],
    },
    Rule {
        name: "iso_date",
        pattern: r"\b(?P<y>{YEAR})-(?P<m>0[1-9]|1[0-2])-(?P<d>0[1-9]|[12]\d|3[01])\b",
        produce: p_numeric_date,
        examples: &[("2019-12-07", "2019-12-07")],
    },
    Rule {
        name: "range_years",
        pattern: r"\b(?:between|from)\s+(?P<y1>{YEAR})\s+(?:and|to|until|till|through)\s+(?P<y2>{YEAR})|\b(?P<a>{YEAR})\s*(?:-|(?u:–))\s*(?P<b>(?:1[0-9]|20)\d{2}|\d{2}\b)",
        produce: p_range_years,
        examples: &[
            ("from 2010 to 2015", "2010|2015"),
            ("the 1990-95 period", "1990|1995"),
        ],
    },
    Rule {
        name: "range_months",
        pattern: r"\b(?:between|from)\s+(?P<m1>{MONTH})\s+(?:and|to|until|till|through)\s+(?P<m2>{MONTH})(?:,?\s+(?P<y>{YEAR}))?",
        produce: p_range_months,
        examples: &[
            ("from January to March 2018", "2018-01|2018-03"),
            ("The season runs from April to October.", "2020-04|2020-10"),
        ],
    },
    // ---- holidays -------------------------------------------------------------------------
    Rule {
        name: "holiday",
        pattern: r"(?:\b(?P<rel>last|next|this)\s+)?(?P<t>(?-i:Christmas(?:\s+(?:Day|Eve))?|New\s+Year's\s+(?:Day|Eve)|Thanksgiving(?:\s+Day)?|Independence\s+Day|Halloween|Valentine's\s+Day|Easter(?:\s+Sunday)?|Good\s+Friday|Election\s+Day|Memorial\s+Day|Labor\s+Day|Boxing\s+Day)\b)(?:,?\s+(?P<y>{YEAR}))?",
        produce: p_holiday,
        examples: &[
            ("on Christmas Day", "2019-12-25"),
            ("last Thanksgiving", "2019-11-28"),
            ("Easter 2019", "2019-04-21"),
            ("New Year's Eve", "2019-12-31"),
        ],
    },
    Rule {
        name: "spelled_year",
        pattern: r"\b(?:(?P<mon>{MONTH})\s+)?(?P<c>nineteen|eighteen|twenty)\s+(?P<y>(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:-(?:one|two|three|four|five|six|seven|eight|nine))?|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|hundred)\b|\b(?:the\s+year\s+)?(?P<tt>two\s+thousand)(?:\s+and\s+(?P<tty>one|two|three|four|five|six|seven|eight|nine|ten))?\b",
        produce: p_spelled_year,
        examples: &[
            ("nineteen ninety-six", "1996"),
            ("January nineteen ninety-seven", "1997-01"),
            ("the year two thousand", "2000"),
            ("in two thousand and one", "2001"),
        ],
    },
    Rule {
        // "April 480 BC", "(September 480 BC)": a month of a year of an era.
        name: "month_era_year",
        pattern: r"(?P<m>{MONTH})(?:\s+of)?,?\s+(?P<y>\d{1,4})\s*(?P<era>(?-i:BC\b|B\.C\.|B\.C\b|BCE\b|B\.C\.E\.|AD\b|A\.D\.|CE\b))",
        produce: p_month_era_year,
        examples: &[
            ("Having crossed into Europe in April 480 BC", "BC0480-04"),
            ("in June of 79 AD", "0079-06"),
        ],
    },
    Rule {
        name: "era_year",
        pattern: r"\b(?P<y>\d{1,4})\s*(?P<era>(?-i:BC\b|B\.C\.|B\.C\b|BCE\b|B\.C\.E\.|AD\b|A\.D\.|CE\b))",
        produce: p_era_year,
        examples: &[
            ("in 241 BC", "BC0241"),
            ("by 79 AD", "0079"),
            ("Third Punic War (149 B.C to 146 B.C)", "BC0149|BC0146"),
        ],
    },
    // ---- explicit dates -----------------------------------------------------------------
    Rule {
        name: "month_day_year",
        pattern: r"(?:(?P<wd>{WEEKDAY}),?\s+)?(?P<m>{MONTH})\s+(?P<d>{DAY})(?:,?\s+(?P<y>{YEAR}))?",
        produce: p_month_day,
        examples: &[
            ("May 3, 1975", "1975-05-03"),
            ("Sept. 30", "2019-09-30"),
            ("on Dec. 7", "2019-12-07"),
            ("Monday, Dec. 16", "2019-12-16"),
            ("to be completed around Nov. 1", "2019-11-01"),
            ("It will open Jan. 6.", "2020-01-06"),
            ("The dividend will be paid Feb. 14.", "2020-02-14"),
            (
                "It created an office of the chairman, effective Feb. 1.",
                "2020-02-01",
            ),
            ("It declared a dividend, payable Feb. 14.", "2020-02-14"),
            // "the plan" is a noun, not a plan to come.
            ("The thrift announced the plan Aug. 21.", "2019-08-21"),
            // "be paid" twelve words back is a passive, not a past.
            (
                "It would be paid on a still unspecified date in January to holders of record Dec. 21.",
                "2020-01|2019-12-21",
            ),
        ],
    },
    Rule {
        name: "day_month_year",
        pattern: r"(?:(?P<wd>{WEEKDAY}),?\s+)?\b(?:the\s+)?(?P<d>{DAY})\s+(?:of\s+)?(?P<m>{MONTH})(?:,?\s+(?P<y>{YEAR}))?",
        produce: p_month_day,
        examples: &[
            ("4 July 1994", "1994-07-04"),
            ("the 4th of July", "2019-07-04"),
            ("from 26 June to 4 August 1952", "1952-06-26|1952-08-04"),
        ],
    },
    Rule {
        // "On the 5th, the Soviets offered amendments": a day of the month under discussion.
        name: "day_of_month",
        pattern: r"\b(?:on|from|until|till|by|since|to|before|after)\s+(?P<t>the\s+(?P<d>3[01]|[12][0-9]|0?[1-9])(?:st|nd|rd|th)?)\b",
        produce: p_day_of_month,
        examples: &[
            (
                "A counteroffer came on 2 October. On the 5th, the Soviets offered amendments.",
                "2019-10-02|2019-10-05",
            ),
            (
                "The assault of 20 September failed; on the 28th, however, it succeeded.",
                "2019-09-20|2019-09-28",
            ),
            (
                "It was set for 2 September, then moved from the 13th to the 19th of October.",
                "2019-09-02|2019-10-13|2019-10-19",
            ),
        ],
    },
    Rule {
        name: "slash_date",
        pattern: r"\b(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4}|\d{2})\b",
        produce: p_slash_date,
        examples: &[
            ("12/07/2019", "2019-12-07"),
            ("25/12/2019", "2019-12-25"),
            ("11/02/89", "1989-11-02"),
        ],
    },
    Rule {
        name: "month_year",
        pattern: r"(?:(?P<mod>early|mid|late)(?:-|\s+))?(?P<m>{MONTH})(?:\s+of)?,?\s+(?P<y>{YEAR})",
        produce: p_month_year,
        examples: &[
            ("in June 2018", "2018-06"),
            ("June of 2018", "2018-06"),
            ("late November 2016", "2016-11"),
        ],
    },
    Rule {
        // "February last year", "in March of next year": the month of a relative year.
        name: "month_rel_year",
        pattern: r"(?P<m>{MONTH})\s+(?:of\s+)?(?P<det>last|this|next)\s+year\b",
        produce: p_month_rel_year,
        examples: &[
            ("in February last year", "2018-02"),
            ("by March of next year", "2020-03"),
        ],
    },
    Rule {
        name: "month_of_that_year",
        pattern: r"(?P<m>{MONTH})\s+of\s+(?:that|the\s+same|the\s+following|the\s+previous)\s+year",
        produce: p_month_of_that_year,
        examples: &[("In 2016 it began. By October of that year", "2016|2016-10")],
    },
    Rule {
        name: "mod_month",
        pattern: r"(?P<mod>early|mid|late|the\s+(?:beginning|start|middle|end)\s+of)(?:-|\s+)(?P<m>{MONTH})(?:,?\s+(?:of\s+)?(?P<y>{YEAR}))?",
        produce: p_month_year,
        examples: &[
            ("It peaked in early April.", "2019-04"),
            ("mid-December", "2019-12"),
            ("the end of September 1940", "1940-09"),
            ("It ended at the end of May.", "2019-05"),
        ],
    },
    Rule {
        // "the last week of August": a part of a named month, not last week.
        name: "week_of_month",
        pattern: r"\bthe\s+(?P<which>first|second|third|fourth|last|final)\s+week\s+of\s+(?P<m>{MONTH})(?:,?\s+(?P<y>{YEAR}))?",
        produce: p_week_of_month,
        examples: &[
            (
                "During the last week of August the pressure grew.",
                "2019-08",
            ),
            ("in the first week of March 1918", "1918-03"),
        ],
    },
    Rule {
        name: "rel_month",
        pattern: r"\b(?P<rel>last|next|this(?:\s+past|\s+coming)?|coming|past)\s+(?P<m>{MONTH})",
        produce: p_rel_month,
        examples: &[
            ("last November", "2019-11"),
            ("next May", "2020-05"),
            ("this September", "2019-09"),
        ],
    },
    Rule {
        name: "quarter",
        pattern: r"(?:\b(?P<det>the\s+year-(?:ago|earlier)|the\s+(?P<dy>{YEAR})|the|this|last|next|this\s+year's|last\s+year's|next\s+year's)\s+)?(?P<fiscal>fiscal(?:-|\s+))?\b(?P<q>{ORD}|final)(?:-|\s+)(?:fiscal\s+)?quarter\b(?:\s+of\s+(?:fiscal\s+)?(?P<y>{YEAR})|\s+of\s+(?P<ydet>this|last|next)\s+year\b)?|\b(?P<qq>Q[1-4])\s+(?P<y2>{YEAR})",
        produce: p_quarter,
        examples: &[
            ("fourth-quarter profit", "2019-Q4"),
            ("the third quarter", "2019-Q3"),
            ("the first quarter of 2018", "2018-Q1"),
            (
                "the deal should close in the first quarter of next year",
                "2020-Q1",
            ),
            ("in the fourth quarter of last year", "2018-Q4"),
            ("Q2 2017", "2017-Q2"),
            ("the year-earlier third quarter", "2018-Q3"),
            ("in the 1988 third quarter", "1988-Q3"),
            (
                "for the fiscal-first quarter ended Sept. 30",
                "2019-Q1|2019-09-30",
            ),
        ],
    },
    Rule {
        name: "half",
        pattern: r"(?:\bthe\s+)?\b(?P<h>first|second|1st|2nd|latter|last)\s+half\s+of\s+(?:(?P<y>{YEAR})|(?:the\s+|this\s+)?(?P<ydet>this|last|next)?\s*year\b)|(?:\bthe\s+)?\b(?P<h2>first|second)-half\b",
        produce: p_half,
        examples: &[
            ("the second half of 2019", "2019-H2"),
            ("the first half of next year", "2020-H1"),
            ("earnings for the last half of 1989", "1989-H2"),
        ],
    },
    // ---- modifiers on units ---------------------------------------------------------------
    Rule {
        name: "mod_year",
        pattern: r"\b(?P<mod>(?:early|late|earlier|later)\s+in|early|mid|late|the\s+(?:beginning|start|middle|end)\s+of)(?:-|\s+)(?P<y>{YEAR})",
        produce: p_mod_year,
        examples: &[
            ("mid-2025", "2025"),
            ("the end of 2019", "2019"),
            ("late 2018", "2018"),
            ("The plans had been replaced early in 1914.", "1914"),
            ("Later in 1792, she made a call for arms.", "1792"),
        ],
    },
    Rule {
        name: "mod_unit",
        pattern: r"\b(?P<mod>(?:the\s+)?(?:beginning|start|middle|end|close|turn)\s+of|early|late|mid)(?:-|\s+)(?:(?P<det>this|last|next|the|that|the\s+same|the\s+previous|the\s+following)\s+)?(?P<unit>year|month|week|decade|century|quarter)\b",
        produce: p_mod_unit,
        examples: &[
            ("by the end of the year", "2019"),
            ("the end of the month", "2019-12"),
            ("early next year", "2020"),
            ("the beginning of last year", "2018"),
        ],
    },
    Rule {
        name: "earlier_this",
        pattern: r"\b(?P<mod>earlier|later)\s+(?P<det>this|last|next)\s+(?P<unit>year|month|week)\b",
        produce: p_mod_unit,
        examples: &[
            ("earlier this year", "2019"),
            ("later this month", "2019-12"),
        ],
    },
    // ---- relative --------------------------------------------------------------------------
    Rule {
        name: "ago",
        pattern: r"\b(?:(?:more\s+than|less\s+than|nearly|almost|about|around|roughly|some|over)\s+)?(?P<n>{NUM})[\s-]+(?P<unit>{UNIT})\s+(?:or\s+so\s+)?(?P<dir>ago|earlier|later|before|after|previously|from\s+now|hence)\b|\b(?P<bare>(?:days|weeks|months|years|decades))\s+(?P<bdir>ago|earlier|later)\b",
        produce: p_ago,
        examples: &[
            // A year counted from the reference, even after a half or quarter was named
            // ("a year ago" alone compares with that period).
            (
                "Sales fell in the first half of 2019. Two years ago, he quit.",
                "2019-H1|2017",
            ),
            ("a week ago", "2019-W50"),
            ("It failed. Years later, he returned.", "FUTURE_REF"),
            ("The plan, just months ago, was popular.", "PAST_REF"),
            ("Then, a week or so ago, he left.", "2019-W50"),
            ("three years ago", "2016"),
            (
                "It failed on Dec. 7. Two days later",
                "2019-12-07|2019-12-09",
            ),
            ("a year earlier", "2018"),
            (
                "Profit rose in the third quarter from a year earlier.",
                "2019-Q3|2018-Q3",
            ),
            (
                "Profit rose in the third quarter ended Sept. 30, from $4 million a year earlier.",
                "2019-Q3|2019-09-30|2018-Q3",
            ),
        ],
    },
    Rule {
        name: "the_following",
        pattern: r"\bthe\s+(?P<which>following|next|previous|preceding|same|prior)\s+(?P<unit>day|week|month|year)\b(?:\s+or\s+so\b)?|\b(?:(?:earlier|later)\s+)?(?P<that>that(?:\s+same|\s+very)?|the\s+same|the\s+very)\s+(?P<unit2>day|week|month|quarter|year)\b",
        produce: p_the_following,
        examples: &[
            (
                "It began on June 3. The following day",
                "2019-06-03|2019-06-04",
            ),
            ("in 2016. That year", "2016|2016"),
            (
                "It was founded on Oct. 23. That same day, the fax was sent.",
                "2019-10-23|2019-10-23",
            ),
            (
                "It lost money in the second quarter. Results for that quarter",
                "2019-Q2|2019-Q2",
            ),
        ],
    },
    Rule {
        // "The day before, the army embarked", "the day following saw the surrender": the day
        // before or after the one last mentioned. Not "the day before the shooting" nor "the day
        // after authorities said" (an event or a clause follows).
        name: "day_before_after",
        pattern: r"\bthe\s+day\s+(?P<dir>before|after|following)\b",
        produce: p_day_before_after,
        examples: &[
            (
                "They fought on 23 February 1918. The day before, the army embarked.",
                "1918-02-23|1918-02-22",
            ),
            (
                "He surrendered on May 11, 1865, and the day following saw the last surrender.",
                "1865-05-11|1865-05-12",
            ),
        ],
    },
    Rule {
        name: "past_unit",
        pattern: r"\b(?:the\s+(?:past|next|coming|previous|last)|past)\s+(?P<unit>year|month|week|decade|century)\b",
        produce: p_past_unit,
        examples: &[
            ("over the past year", "P1Y"),
            ("in the coming week", "P1W"),
            ("past decade", "P10Y"),
            ("He has been in Bethesda for the last week.", "P1W"),
        ],
    },
    Rule {
        // Results comparisons: "the corresponding period last year", "last year's quarter",
        // "the quarter a year ago" are the period under report (the quarter last named), a year
        // back.
        name: "year_ago_period",
        pattern: r"\b(?:the\s+)?(?:corresponding|comparable|same|equivalent)\s+(?:fiscal\s+)?(?:period|quarter)\s+(?:of\s+|in\s+)?(?:last\s+year|the\s+(?:previous|prior)\s+year|a\s+year\s+(?:ago|earlier))\b|\blast\s+year's\s+(?:fiscal\s+)?(?:period|quarter)\b|\bthe\s+(?:fiscal\s+)?(?:period|quarter)\s+a\s+year\s+(?:ago|earlier)\b",
        produce: p_year_ago_period,
        examples: &[
            (
                "Profit rose in the third quarter from the corresponding period last year.",
                "2019-Q3|2018-Q3",
            ),
            (
                "Sales fell in the second quarter. U.K. sales for last year's quarter were flat.",
                "2019-Q2|2018-Q2",
            ),
            ("It earned $3 million in the quarter a year ago.", "2018-Q3"),
        ],
    },
    Rule {
        name: "the_latest_quarter",
        pattern: r"\bthe\s+(?P<which>(?:latest|current|most\s+recent|recent|just-ended|just-completed)\s+)(?:fiscal\s+)?(?P<unit>quarter|period|year)\b",
        produce: p_the_quarter,
        examples: &[
            ("Profit rose in the latest quarter.", "2019-Q3"),
            ("sales in the latest fiscal year", "2018"),
            ("sales in the current fiscal year", "2019"),
            ("Sales in the latest period rose.", "2019-Q3"),
            ("with the current quarter having begun well", "2019-Q4"),
        ],
    },
    Rule {
        // Anaphoric: the quarter under discussion, once one was named.
        name: "the_quarter",
        pattern: r"\bthe\s+(?P<ago>(?:comparable\s+)?(?:year-(?:ago|earlier)|comparable|year-before)\s+)?(?:fiscal\s+)?(?P<unit>quarter|period)\b",
        produce: p_the_quarter,
        examples: &[
            ("Profit rose in the quarter.", "2019-Q3"),
            ("the year-ago quarter", "2018-Q3"),
            ("the comparable year-ago quarter", "2018-Q3"),
            (
                "Sales fell in the second quarter. In the quarter, and in the year-ago quarter",
                "2019-Q2|2019-Q2|2018-Q2",
            ),
        ],
    },
    Rule {
        // Financial reports: "year-earlier profit", "the year-ago results": the period under
        // report a year back (a year, or the quarter last named).
        name: "year_ago_adj",
        pattern: r"\b(?P<t>year-(?:earlier|ago))\b",
        produce: p_year_ago_adj,
        examples: &[
            ("The year-ago results were restated.", "2018"),
            (
                "Profit rose in the third quarter, compared with year-earlier profit of $3 million.",
                "2019-Q3|2018-Q3",
            ),
            ("compared with a year-earlier loss", "2018"),
        ],
    },
    Rule {
        // "the 1988 period", "the 1988 quarter": the period under report (the quarter last
        // named, else the year) in a named year, in results comparisons.
        name: "year_period",
        pattern: r"\bthe\s+(?P<y>{YEAR})\s+(?:fiscal\s+)?(?:period|quarter)\b",
        produce: p_year_period,
        examples: &[
            ("compared with a loss in the 1988 period", "1988"),
            (
                "Profit rose in the third quarter from $4 million in the 1988 quarter.",
                "2019-Q3|1988-Q3",
            ),
            // The quarter under report stays the period after a day was named.
            (
                "Sales for the third quarter ended Sept. 30 rose. In the 1988 period, it earned $2.",
                "2019-Q3|2019-09-30|1988-Q3",
            ),
        ],
    },
    Rule {
        // "by year-end", "since year end", "at month's end": the end of the year or month (the
        // last one after "since").
        name: "year_end",
        pattern: r"\b(?:(?P<since>since)\s+)?(?P<t>(?P<unit>year|month)(?:-|\s+|'s\s+)end)\b",
        produce: p_year_end,
        examples: &[
            ("complete the transaction by year-end", "2019"),
            ("The change is since year-end.", "2018"),
            (
                "At month's end, the army held 135,000 prisoners.",
                "2019-12",
            ),
        ],
    },
    Rule {
        // "for the year ended March 31": the fiscal year, reported as a length of a year.
        name: "year_ended",
        pattern: r"\b(?P<t>the\s+(?:fiscal\s+)?year)\s+end(?:ed|ing)\b",
        produce: p_year_ended,
        examples: &[
            (
                "revenue of $76 million for the year ended March 31",
                "P1Y|2019-03-31",
            ),
            ("In the fiscal year ended Jan. 31", "P1Y|2019-01-31"),
        ],
    },
    Rule {
        name: "the_weekend",
        pattern: r"\b(?P<t>(?:the|this|last|next|over\s+the)\s+weekend)\b",
        produce: p_the_weekend,
        examples: &[
            ("They met over the weekend.", "2019-W50-WE"),
            ("last weekend", "2019-W50-WE"),
            ("this weekend", "2019-W51-WE"),
        ],
    },
    Rule {
        name: "the_current_year",
        pattern: r"\bthe\s+(?:current(?:\s+fiscal)?|full)\s+(?P<unit>year|month|quarter|week)\b",
        produce: p_the_current,
        examples: &[("the current month", "2019-12"), ("the full year", "2019")],
    },
    Rule {
        name: "coming_units",
        // Not "the next few months": a length, like "the past few months" (PXM), left to the
        // counted durations.
        pattern: r"\b(?:the\s+)?(?:coming|upcoming)\s+(?:days|weeks|months|quarters|years)\b|\bfuture\s+(?:days|weeks|months|quarters|years)\b",
        produce: p_future_ref,
        examples: &[
            ("in the coming months", "FUTURE_REF"),
            ("It does not bode well for future quarters.", "FUTURE_REF"),
        ],
    },
    Rule {
        // "over the following days", "in the intervening years": an unknown number of units
        // after or before the story's date, a length.
        name: "following_units",
        pattern: r"\bthe\s+(?:following|ensuing|intervening|subsequent|preceding|previous)\s+(?P<unit>days|weeks|months|years|decades)\b",
        produce: p_following_units,
        examples: &[
            (
                "The bombing led to violence over the following days.",
                "PXD",
            ),
            ("It has dated little in the intervening years.", "PXY"),
        ],
    },
    Rule {
        // "in the weeks before the shooting", "in the days after the attack": a stretch of the
        // story's time next to an event, as TIMEX3 annotates the bare plural. The event's date
        // is not known here, so the value stays vague (and the expression dates nothing).
        name: "units_around_event",
        pattern: r"\bin\s+the\s+(?P<t>days|weeks)\s+(?:before|after|leading\s+up\s+to|preceding)\b",
        produce: p_units_around_event,
        examples: &[
            (
                "He was shot on Oct. 23. His car was seen in the weeks before the shooting.",
                "2019-10-23|PAST_REF",
            ),
            ("Prices rose in the days after the attack.", "PAST_REF"),
        ],
    },
    Rule {
        name: "rel_unit",
        pattern: r"\b(?P<det>last|next|this|coming|previous|current)\s+(?P<unit>week|weekend|month|year|quarter|decade|century)\b",
        produce: p_rel_unit,
        examples: &[
            ("last year", "2018"),
            ("this month", "2019-12"),
            ("last week", "2019-W50"),
            ("next week", "2019-W52"),
            ("last quarter", "2019-Q3"),
        ],
    },
    Rule {
        name: "day_deictic",
        pattern: r"\b(?:(?P<mod>late|early|earlier|later)\s+)?(?P<w>yesterday|today|tomorrow)\b",
        produce: p_day_deictic,
        examples: &[
            ("yesterday", "2019-12-16"),
            ("today", "2019-12-17"),
            ("tomorrow", "2019-12-18"),
            ("Today, the exchange reopened.", "2019-12-17"),
            ("Markets closed. Today the index fell.", "2019-12-17"),
            (
                "Earlier yesterday, the exchange halted trading.",
                "2019-12-16",
            ),
        ],
    },
    Rule {
        // "the previous Friday", "the following Monday": a weekday before or after the day last
        // mentioned ("closed Friday at 2082, down 4.5% from the previous Friday"), else the
        // reference.
        name: "previous_weekday",
        pattern: r"\bthe\s+(?P<dir>previous|preceding|following)\s+(?P<wd>{WEEKDAY})",
        produce: p_weekday,
        examples: &[
            ("down 4.5% from the previous Friday", "2019-12-13"),
            (
                "The index fell 1.2% Friday, and 4.5% from the previous Friday.",
                "2019-12-13|2019-12-06",
            ),
            (
                "The talks opened on Dec. 3 and resumed the following Monday.",
                "2019-12-03|2019-12-09",
            ),
        ],
    },
    Rule {
        name: "rel_weekday",
        pattern: r"\b(?P<dir>last|next|this(?:\s+past|\s+coming)?|coming|past)\s+(?P<wd>{WEEKDAY})",
        produce: p_weekday,
        examples: &[
            ("next Tuesday", "2019-12-24"),
            ("last Friday", "2019-12-13"),
        ],
    },
    Rule {
        name: "weekday",
        pattern: r"(?P<wd>{WEEKDAY})",
        produce: p_weekday,
        examples: &[
            ("The United States on Monday rejected it.", "2019-12-16"),
            ("They will meet on Monday.", "2019-12-23"),
            // A time limit set or moved ("postponed until", "has given them until") is ahead;
            // a stay that lasted "until" a day is not.
            (
                "The court postponed the hearing until Monday.",
                "2019-12-23",
            ),
            ("He stayed in Paris until Monday.", "2019-12-16"),
            // The present of a scheduled event.
            ("The summit opens Monday in Geneva.", "2019-12-23"),
            ("The president leaves for Asia on Sunday.", "2019-12-22"),
            ("Arafat and Netanyahu meet separately Monday.", "2019-12-23"),
            ("It was hard to meet demand on Monday.", "2019-12-16"),
            ("The visit on Monday was brief.", "2019-12-16"),
            // A past form after "to" is an infinitive.
            (
                "The storm is expected to hit Florida by Friday.",
                "2019-12-20",
            ),
            (
                "Castro said the father would travel to the United States Thursday.",
                "2019-12-19",
            ),
            // An attribution after the clause says when it was said, not when it happens.
            ("Talks will resume on Thursday, he said.", "2019-12-19"),
            ("\"We will leave Thursday,'' Castro said.", "2019-12-19"),
            (
                "The talks failed on Thursday, officials said.",
                "2019-12-12",
            ),
            (
                "On Thursday, officials said the talks failed.",
                "2019-12-12",
            ),
            ("Thursday's attempt failed.", "2019-12-12"),
            ("They could arrive as early as Friday.", "2019-12-20"),
            ("Talks are set to resume Monday.", "2019-12-23"),
            (
                "The stock is to resume trading in Paris Thursday.",
                "2019-12-19",
            ),
            (
                "The summit opened in Paris Monday. Leaders will meet again.",
                "2019-12-16",
            ),
            (
                "Dozens were hurt in the blasts next to the embassies on Friday.",
                "2019-12-13",
            ),
            (
                "The offer had been scheduled to expire Friday.",
                "2019-12-13",
            ),
            (
                "The offer has been scheduled to expire Friday.",
                "2019-12-20",
            ),
            ("The vote on Monday was expected to be close.", "2019-12-23"),
        ],
    },
    // ---- partial dates ---------------------------------------------------------------------
    Rule {
        name: "decade",
        pattern: r"(?:\bthe\s+)?(?:(?P<mod>early|mid|late)(?:-|\s+))?\b(?P<dec>1[0-9]{2}|20[0-9])0'?s\b|(?:\bthe\s+)?(?:(?P<mod2>early|mid|late)(?:-|\s+))?'(?P<dec2>[0-9])0s\b",
        produce: p_decade,
        examples: &[
            ("the 1980s", "198"),
            ("the late 1990s", "199"),
            ("the '60s", "196"),
        ],
    },
    Rule {
        name: "decade_words",
        pattern: r"\bthe\s+(?:(?P<mod>early|mid|late)(?:-|\s+))?(?P<w>twenties|thirties|forties|fifties|sixties|seventies|eighties|nineties)\b",
        produce: p_decade_words,
        examples: &[("the nineties", "199"), ("the late sixties", "196")],
    },
    Rule {
        name: "century",
        pattern: r"(?:\bthe\s+)?(?:(?P<mod>early|mid|late)(?:-|\s+))?\b(?P<ord>{CENTORD})[\s-]+century\b",
        produce: p_century,
        examples: &[
            ("the 20th century", "19"),
            ("the early nineteenth century", "18"),
        ],
    },
    Rule {
        name: "season",
        pattern: r"(?:\b(?P<det>last|this(?:\s+past|\s+coming)?|next|the(?:\s+(?:early|late|mid))?|early|late|mid)(?:-|\s+))?\b(?P<s>spring|summer|fall|autumn|winter)\b(?:\s+(?:of\s+)?(?:(?P<ybc>\d{1,4})\s*(?P<era>(?-i:BC\b|B\.C\.|B\.C\b|BCE\b|B\.C\.E\.))|(?P<y>{YEAR})))?",
        produce: p_season,
        examples: &[
            ("last summer", "2019-SU"),
            ("the spring of 2026", "2026-SP"),
            ("in winter 2018", "2018-WI"),
            ("The allies met again in the spring of 480 BC.", "BC0480-SP"),
            ("from the low levels of the early summer", "2019-SU"),
            ("well into the summer", "2019-SU"),
            ("the failure of the Spring Offensive", "2019-SP"),
            ("German Spring Offensive", "2019-SP"),
        ],
    },
    // ---- durations and sets (typed and valued; not timeline dates) -------------------------
    Rule {
        name: "set_every",
        pattern: r"\b(?:every|each)\s+(?:other\s+)?(?:(?P<n>{NUM})\s+)?(?P<unit>{UNIT})|\bevery\s+(?P<wd>{WEEKDAY})|\b(?:every|each)\s+(?P<mon>{MONTH})|\b(?P<adv>daily|weekly|monthly|annually|yearly|hourly|nightly)\b",
        produce: p_set,
        examples: &[
            ("every week", "P1W"),
            ("daily", "P1D"),
            ("Qantas plans daily flights to Bombay.", "P1D"),
            ("based on initial daily reports from the ministry", "P1D"),
            (
                "Take it twice daily Monday through Friday.",
                "P1D|2019-12-16|2019-12-13",
            ),
            ("every two years", "P2Y"),
            ("Orangemen march each July", "XXXX-07"),
        ],
    },
    Rule {
        name: "duration",
        pattern: r"\b(?P<t>(?:(?P<mod>(?:a\s+little\s+|slightly\s+)?more\s+than|(?:a\s+little\s+|slightly\s+)?less\s+than|fewer\s+than|no\s+more\s+than|nearly|almost|about|around|roughly|at\s+least|up\s+to|some|over|under)\s+)?(?P<the>the\s+(?:(?:past|last|next|first|previous|coming|final|latest|year-earlier|year-ago)\s+)?)?(?P<n>{NUM})(?:\s+to\s+(?P<n2>\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve))?(?:\s+(?:more|additional|extra|straight|consecutive|full|previous|preceding|following))?(?:\s+(?:trading|business|working|school))?[\s-]+(?P<unit>{UNIT})(?P<half>\s+and\s+a\s+half\b)?(?P<old>-long|-old|\s+old|\s+long\b)?(?:\s+or\s+so\b)?)",
        produce: p_duration,
        examples: &[
            ("three days", "P3D"),
            ("more than two years", "P2Y"),
            ("the past two months", "P2M"),
            ("the past two centuries", "P2CE"),
            ("down from 1,440 in the four previous weeks", "P4W"),
            (
                "Eight trading days after Oct. 12, the index had fallen.",
                "P8D|2019-10-12",
            ),
            (
                "The offer must be accepted within 10 business days.",
                "P10D",
            ),
            ("a two-week trip", "P2W"),
            ("several years", "PXY"),
            ("for a couple of years", "P2Y"),
            ("5 1/2 hours", "PT5H30M"),
            ("two and a half years", "P2Y6M"),
            ("the last twenty four hours", "PT24H"),
            ("It lasted nearly two years.", "P2Y"),
            ("In under a month, the forces were pushed back.", "P1M"),
            ("Serbia was conquered in a little more than a month.", "P1M"),
            ("The 46-day battle", "P46D"),
            // "a month-long siege": the article belongs to the noun, not to the length.
            ("They held out through a month-long siege.", "P1M"),
            ("after a months-long trek", "PXM"),
            ("despite a 3 year long siege", "P3Y"),
            ("for the two day rally", "P2D"),
            ("over the next two years or so", "P2Y"),
            ("He spent the next few months rebuilding his army.", "PXM"),
            ("in the next several days", "PXD"),
            ("within two to three weeks", "P2W"),
            ("a tour likely to last over a week", "P1W"),
            ("The car had been in the lot for about two weeks.", "P2W"),
            ("But a minute and a half later, a pilot called.", "PT1M30S"),
            ("Net for the year-earlier nine months rose.", "P9M"),
            (
                "It turned profitable after several quarters of losses.",
                "PXQ",
            ),
        ],
    },
    Rule {
        // "their third day-long meeting", "a decades-long battle": a length as an adjective.
        name: "unit_long",
        pattern: r"\b(?P<unit>{UNIT})-long\b",
        produce: p_unit_long,
        examples: &[
            ("their third day-long meeting", "P1D"),
            ("the government's decades-long battle", "PXDE"),
        ],
    },
    Rule {
        // "for the year", "late in the year": the year under discussion (the last date's, else
        // the reference's). Not "the year-ago quarter", "the year ended", "the year before".
        name: "the_year",
        pattern: r"\b(?P<t>(?:(?P<mod>earlier|later|early|late)\s+in\s+)?the\s+(?:fiscal\s+)?(?-i:year)\b)(?P<tail>-|'|\s+(?:two|before|after|earlier|ago|end(?:ed|ing)\b|\d))?",
        produce: p_the_year,
        examples: &[
            ("rising to a high for the year of $42", "2019"),
            (
                "In 1946 the war resumed. Later in the year, talks failed.",
                "1946|1946",
            ),
        ],
    },
    Rule {
        // "For the week, the index dropped 3.8%", "the week's most active session": the week
        // under discussion (the last date's, else the reference's). Not "the week of March 6",
        // "the week before the shooting", "the week ended Friday", nor "day of the week".
        name: "the_week",
        pattern: r"\b(?:(?P<pre>for|during|over|in|throughout)\s+)?(?P<t>the\s+week)\b(?P<tail>'s\b|-|\s+(?:of|before|after|earlier|later|ago|end(?:ed|ing)|that|when|in|to|prior|following|leading|beginning|starting|before|long)\b)?",
        produce: p_the_week,
        examples: &[
            ("For the week, the index dropped 3.8%.", "2019-W51"),
            ("It was the week's most active session.", "2019-W51"),
        ],
    },
    Rule {
        // A rate: "800 rockets per day", "$600 million in aid per year" (a length, as annotated
        // in WikiWars).
        name: "per_unit",
        pattern: r"\bper\s+(?P<unit>hour|day|week|month|quarter|year)\b",
        produce: p_per_unit,
        examples: &[("launching 800 rockets per day", "P1D")],
    },
    Rule {
        name: "duration_bare",
        pattern: r"\b(?:for|in|over|within)\s+(?P<t>(?:many\s+|recent\s+)?(?P<unit>days|weeks|months|years|decades|centuries|hours|minutes))\b",
        produce: p_duration_bare,
        examples: &[
            ("for years", "PXY"),
            ("for many decades", "PXDE"),
            ("Ukraine was ruled from Moscow for centuries.", "PXCE"),
            ("Troops are expected within weeks.", "PXW"),
            // "in recent months": the months up to now, a length (as TBAQ mostly annotates).
            ("Officials expressed concern in recent months.", "PXM"),
        ],
    },
    Rule {
        // "for some time", "for a while": a length left unsaid. Not "some time ago" (a date)
        // nor "at some time" (a point).
        name: "duration_vague",
        pattern: r"\b(?:for|in|after)\s+(?P<t>(?:quite\s+)?some\s+time|a\s+(?:little\s+)?while)\b(?P<ago>\s+(?:ago|later|earlier|before|after|now))?",
        produce: p_duration_vague,
        examples: &[
            (
                "American forces could be in the gulf region for some time.",
                "PXX",
            ),
            (
                "We are going to have to live without it for a while.",
                "PXX",
            ),
        ],
    },
    // ---- bare month and year (context-checked) -----------------------------------------------
    Rule {
        name: "month_bare",
        pattern: r"(?P<m>{MONTH})",
        produce: p_month_bare,
        examples: &[
            ("It happened in June.", "2019-06"),
            ("Sales rose in April.", "2019-04"),
            // A month modifying a noun after a determiner.
            (
                "It was sold under a June agreement with holders.",
                "2019-06",
            ),
            ("The army began with a March operation in Basra.", "2019-03"),
            (
                "Talks were inevitable. September saw the Germans fight on.",
                "2019-09",
            ),
            ("They will decide in March.", "2020-03"),
            ("in August and September 1914", "1914-08|1914-09"),
            ("Talks that are supposed to end by May", "2020-05"),
            // "by" a date is a deadline, unless the verb before it or a past perfect says
            // otherwise; a verb after the clause does not count.
            (
                "The talks, which are supposed to conclude by May, invited Sinn Fein to rejoin.",
                "2020-05",
            ),
            ("He said the deal was signed by May.", "2019-05"),
            ("The banks extended the loans through March.", "2020-03"),
            ("Sales were weak through March.", "2019-03"),
            ("By March, sales had fallen 10%.", "2019-03"),
            // A negated participle is an adjective, not a past tense.
            (
                "Shares go on sale at an undisclosed price in March.",
                "2020-03",
            ),
            (
                "Flights double by March in markets untouched by the crisis.",
                "2020-03",
            ),
        ],
    },
    Rule {
        name: "year_bare",
        pattern: r"(?P<t>(?:\bfiscal\s+(?:year\s+)?)?\b(?P<y>(?:1[0-9]{3}|20[0-9]{2}))(?P<open>\s+(?:and\s+beyond|or\s+later|or\s+earlier|and\s+after|and\s+before)\b)?)(?:'s)?",
        produce: p_year_bare,
        examples: &[
            ("in 2019", "2019"),
            ("the 2018 election", "2018"),
            ("since 1945,", "1945"),
            ("profit in fiscal 1989", "1989"),
            ("Under the Constitution of 1791, France", "1791"),
            ("earnings for 1990 and beyond", "1990"),
            ("profitable until 1994 or later", "1994"),
            ("the National Assembly (1789) met", "1789"),
        ],
    },
    // ---- vague references ---------------------------------------------------------------------
    Rule {
        // "at the time", "during that time", "for the time being": the time of the story
        // (a past one, else the present). Not "at the time of the founding", "at the time he
        // left office" (the time of an event, named after it), "at a time", "each time".
        name: "the_time",
        pattern: r"\b(?P<pre>at|during|in|until|till|by|for)\s+(?P<t>(?:the|that)\s+time(?P<being>\s+being)?)\b",
        produce: p_the_time,
        examples: &[
            ("He was, at the time, commander of the army.", "PAST_REF"),
            ("The fleet was at that time off the coast.", "PAST_REF"),
            ("During that time, the company lost $1 billion.", "PAST_REF"),
            (
                "The rebels backed down, at least for the time being.",
                "PRESENT_REF",
            ),
        ],
    },
    Rule {
        name: "vague_ref",
        pattern: r"\b(?P<w>now|currently|nowadays|at\s+present|the\s+present|presently|(?:more\s+)?recently|lately|the\s+past|the\s+(?:near|immediate)\s+(?:future|term)|the\s+short\s+term|these\s+days|as\s+soon\s+as\s+possible|the\s+future|in\s+future)\b",
        produce: p_ref,
        examples: &[
            ("now", "PRESENT_REF"),
            ("recently", "PAST_REF"),
            ("More recently it has followed the militias.", "PAST_REF"),
            ("in the future", "FUTURE_REF"),
            ("an offering in the near future", "FUTURE_REF"),
            ("to placate holders in the short term", "FUTURE_REF"),
            ("It hurts more painfully these days.", "PRESENT_REF"),
            ("It will cut tax payments in future quarters.", "FUTURE_REF"),
        ],
    },
];

// ---- productions ------------------------------------------------------------------------------

fn month_num(s: &str) -> Option<u32> {
    let p: String = s.chars().take(3).collect::<String>().to_ascii_lowercase();
    Some(match p.as_str() {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "may" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => return None,
    })
}

fn weekday(s: &str) -> Option<Weekday> {
    let p: String = s.chars().take(3).collect::<String>().to_ascii_lowercase();
    Some(match p.as_str() {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return None,
    })
}

fn day_num(s: &str) -> Option<u32> {
    let d: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
    d.parse().ok().filter(|d| (1..=31).contains(d))
}

fn year_num(s: &str) -> Option<i32> {
    s.parse().ok()
}

/// Parses a count: digits or number words; `None` for vague counts ("several").
pub fn number(s: &str) -> Option<f64> {
    let s = s.to_ascii_lowercase();
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Ok(v) = s.parse::<f64>() {
        return Some(v);
    }
    let word = |w: &str| -> Option<f64> {
        Some(match w {
            "a" | "an" | "one" => 1.0,
            "two" => 2.0,
            "three" => 3.0,
            "four" => 4.0,
            "five" => 5.0,
            "six" => 6.0,
            "seven" => 7.0,
            "eight" => 8.0,
            "nine" => 9.0,
            "ten" => 10.0,
            "eleven" => 11.0,
            "twelve" | "a dozen" => 12.0,
            "thirteen" => 13.0,
            "fourteen" => 14.0,
            "fifteen" => 15.0,
            "sixteen" => 16.0,
            "seventeen" => 17.0,
            "eighteen" => 18.0,
            "nineteen" => 19.0,
            "twenty" => 20.0,
            "thirty" => 30.0,
            "forty" => 40.0,
            "fifty" => 50.0,
            "sixty" => 60.0,
            "seventy" => 70.0,
            "eighty" => 80.0,
            "ninety" => 90.0,
            "a hundred" => 100.0,
            "a couple of" | "couple of" => 2.0,
            _ => return None,
        })
    };
    // "5 1/2", "two and a half"
    for half in [" 1/2", " and a half"] {
        if let Some(whole) = s.strip_suffix(half) {
            return Some(number(whole)? + 0.5);
        }
    }
    // "twenty-one", "forty five"; not "a couple of" (a + couple of).
    if let Some((tens, ones)) = s.split_once(['-', ' '])
        && let (Some(t), Some(o)) = (word(tens), word(ones))
        && t >= 20.0
        && t % 10.0 == 0.0
        && o < 10.0
    {
        return Some(t + o);
    }
    word(&s)
}

fn fmt_num(n: Option<f64>) -> String {
    match n {
        Some(v) if v.fract() == 0.0 => format!("{}", v as i64),
        Some(v) => format!("{v}"),
        None => "X".to_string(),
    }
}

fn duration_value(n: Option<f64>, unit: Unit) -> String {
    let (letter, time) = unit.duration_letter();
    let (n, letter) = match (unit, n) {
        (Unit::Decade, Some(v)) => (Some(v * 10.0), "Y"),
        (Unit::Quarter, Some(v)) => (Some(v * 3.0), "M"),
        _ => (n, letter),
    };
    // A half of a unit is written in the next smaller one: P2Y6M, PT5H30M, P1DT12H.
    if let Some(v) = n
        && v.fract() == 0.5
    {
        let whole = v.trunc() as i64;
        let rest = match unit {
            Unit::Year => Some(format!("P{whole}Y6M")),
            Unit::Day => Some(format!("P{whole}DT12H")),
            Unit::Hour => Some(format!("PT{whole}H30M")),
            Unit::Minute => Some(format!("PT{whole}M30S")),
            _ => None,
        };
        if let Some(r) = rest {
            return r
                .replace("P0Y", "P")
                .replace("P0D", "P")
                .replace("PT0H", "PT")
                .replace("PT0M", "PT");
        }
    }
    format!("P{}{}{}", if time { "T" } else { "" }, fmt_num(n), letter)
}

fn mod_word(s: &str) -> Option<Mod> {
    let s = s.to_ascii_lowercase();
    if s.contains("beginning")
        || s.contains("start")
        || s.starts_with("early")
        || s.starts_with("earlier")
    {
        Some(Mod::Start)
    } else if s.contains("middle") || s.starts_with("mid") {
        Some(Mod::Mid)
    } else if s.contains("end") || s.contains("close") || s.starts_with("late") {
        Some(Mod::End)
    } else {
        None
    }
}

fn year_ref(h: &Hit, name: &str) -> YearRef {
    h.get(name)
        .and_then(year_num)
        .map(YearRef::Known)
        .unwrap_or(YearRef::Auto)
}

fn zone_offset(zone: &str) -> Option<i32> {
    Some(match zone {
        "GMT" | "UTC" => 0,
        "BST" | "CET" => 60,
        "CEST" | "EET" => 120,
        "EEST" | "MSK" => 180,
        "IST" => 330,
        "HKT" | "SGT" => 480,
        "KST" | "JST" => 540,
        "AEST" => 600,
        "AEDT" => 660,
        "EST" | "CDT" => -300,
        "EDT" => -240,
        "CST" | "MDT" => -360,
        "MST" | "PDT" => -420,
        "PST" => -480,
        _ => return None,
    })
}

fn p_time(h: &Hit) -> Option<Vec<Found>> {
    // "High Noon", "high noon comes today": the idiom, not midday.
    if h.get("noon").is_some() && h.prev_word() == "high" {
        return None;
    }
    let (hour, minute) = if let Some(n) = h.get("noon") {
        (
            if n.eq_ignore_ascii_case("midnight") {
                0
            } else {
                12
            },
            0,
        )
    } else {
        let mut hour: u32 = h.get("h")?.parse().ok()?;
        let minute: u32 = h.get("m").and_then(|m| m.parse().ok()).unwrap_or(0);
        match h.get("ap").map(|s| s.to_ascii_lowercase()) {
            Some(ap) if ap == "p" && hour < 12 => hour += 12,
            Some(ap) if ap == "a" && hour == 12 => hour = 0,
            _ => {}
        }
        (hour, minute)
    };
    let offset_minutes = h.get("zone").and_then(zone_offset);
    h.one(
        Partial::Time {
            hour,
            minute,
            offset_minutes,
            date: None,
        },
        None,
    )
}

fn p_time_pod(h: &Hit) -> Option<Vec<Found>> {
    let mut hour: u32 = h.get("h")?.parse().ok()?;
    let minute: u32 = h.get("m").and_then(|m| m.parse().ok()).unwrap_or(0);
    let pod = pod_code(h.get("pod")?);
    if pod == "MO" && hour == 12 {
        hour = 0;
    } else if pod != "MO" && hour < 12 {
        hour += 12;
    }
    h.one(
        Partial::Time {
            hour,
            minute,
            offset_minutes: None,
            date: None,
        },
        None,
    )
}

fn pod_code(s: &str) -> &'static str {
    match s.to_ascii_lowercase().as_str() {
        "morning" => "MO",
        "afternoon" => "AF",
        "evening" => "EV",
        _ => "NI",
    }
}

fn p_weekday_part(h: &Hit) -> Option<Vec<Found>> {
    let weekday = weekday(h.get("wd")?)?;
    h.one(
        Partial::PartOfDay {
            code: pod_code(h.get("pod")?),
            date: Box::new(Partial::Weekday {
                weekday,
                dir: Dir::Auto,
            }),
        },
        None,
    )
}

fn p_rel_part(h: &Hit) -> Option<Vec<Found>> {
    if h.get("tonight").is_some() {
        return h.one(
            Partial::PartOfDay {
                code: "NI",
                date: Box::new(rel(Unit::Day, 0)),
            },
            None,
        );
    }
    let pod = pod_code(h.get("pod")?);
    let n = match h.get("rel")?.to_ascii_lowercase().as_str() {
        "yesterday" => -1,
        "tomorrow" => 1,
        "last" if pod == "NI" || pod == "EV" => -1,
        "last" => return None,
        _ => 0,
    };
    h.one(
        Partial::PartOfDay {
            code: pod,
            date: Box::new(rel(Unit::Day, n)),
        },
        None,
    )
}

fn p_the_part(h: &Hit) -> Option<Vec<Found>> {
    // "by the morning of December 28": the day is written after it.
    if h.next_word().eq_ignore_ascii_case("of") {
        return None;
    }
    let pod = pod_code(h.get("pod").or(h.get("pod2"))?);
    let date = match h.get("rel").map(|r| r.to_ascii_lowercase()).as_deref() {
        Some("yesterday") => rel(Unit::Day, -1),
        Some(_) => rel(Unit::Day, 0),
        None => Partial::Rel {
            unit: Unit::Day,
            n: 0,
            from_previous: true,
        },
    };
    let modifier = h.get("mid").map(|_| Mod::Mid);
    h.one(
        Partial::PartOfDay {
            code: pod,
            date: Box::new(date),
        },
        modifier,
    )
}

fn rel(unit: Unit, n: i32) -> Partial {
    Partial::Rel {
        unit,
        n,
        from_previous: false,
    }
}

fn p_range_days(h: &Hit) -> Option<Vec<Found>> {
    let m1 = month_num(h.get("m1")?)?;
    let d1 = day_num(h.get("d1")?)?;
    let m2 = h.get("m2").and_then(month_num).unwrap_or(m1);
    let d2 = day_num(h.get("d2")?)?;
    if (m2, d2) <= (m1, d1) && h.get("m2").is_none() {
        return None;
    }
    let year = year_ref(h, "y");
    let s1 = h.span_of("m1")?.start..h.span_of("d1")?.end;
    let e2 = h.span_of("y").or_else(|| h.span_of("d2"))?.end;
    let s2 = h.span_of("m2").or_else(|| h.span_of("d2"))?.start..e2;
    let mut a = found(
        s1,
        Partial::Day {
            year,
            month: m1,
            day: d1,
        },
        None,
    );
    a.range_start = true;
    let b = found(
        s2,
        Partial::Day {
            year,
            month: m2,
            day: d2,
        },
        None,
    );
    Some(vec![a, b])
}

fn p_range_days_month(h: &Hit) -> Option<Vec<Found>> {
    let month = month_num(h.get("m2")?)?;
    let d1 = day_num(h.get("d1")?)?;
    let d2 = day_num(h.get("d2")?)?;
    if d2 <= d1 || is_count_noun(h.next_word()) {
        return None;
    }
    let year = year_ref(h, "y");
    let e2 = h.span_of("y").or_else(|| h.span_of("m2"))?.end;
    let mut a = found(
        h.span_of("d1")?,
        Partial::Day {
            year,
            month,
            day: d1,
        },
        None,
    );
    a.range_start = true;
    let b = found(
        h.span_of("d2")?.start..e2,
        Partial::Day {
            year,
            month,
            day: d2,
        },
        None,
    );
    Some(vec![a, b])
}

fn p_range_era_years(h: &Hit) -> Option<Vec<Found>> {
    let y1: i32 = h.get("y1")?.parse().ok()?;
    let y2: i32 = h.get("y2")?.parse().ok()?;
    let bc = h.get("era")?.starts_with('B');
    // Years count down before Christ: "499-493 BC".
    let ordered = if bc { y1 > y2 } else { y1 < y2 };
    if y1 == 0 || y2 == 0 || !ordered || h.before().ends_with(['$', '.', ',']) {
        return None;
    }
    let sign = if bc { -1 } else { 1 };
    let mut a = found(
        h.span_of("y1")?,
        Partial::Year(YearRef::Known(sign * y1)),
        None,
    );
    a.range_start = true;
    let b = found(
        h.span_of("y2")?.start..h.span_of("era")?.end,
        Partial::Year(YearRef::Known(sign * y2)),
        None,
    );
    Some(vec![a, b])
}

fn p_coord_days(h: &Hit) -> Option<Vec<Found>> {
    let month = month_num(h.get("m1")?)?;
    let year = year_ref(h, "y");
    // "Dec. 7 and 13 percent" is not a date list.
    if is_count_noun(h.next_word()) {
        return None;
    }
    let mut out = Vec::new();
    let first = h.span_of("m1")?.start..h.span_of("d1")?.end;
    out.push(found(
        first,
        Partial::Day {
            year,
            month,
            day: day_num(h.get("d1")?)?,
        },
        None,
    ));
    for g in ["d2", "d3"] {
        if let (Some(text), Some(span)) = (h.get(g), h.span_of(g)) {
            let end = if g == "d3" {
                h.span_of("y").map(|s| s.end).unwrap_or(span.end)
            } else {
                span.end
            };
            out.push(found(
                span.start..end,
                Partial::Day {
                    year,
                    month,
                    day: day_num(text)?,
                },
                None,
            ));
        }
    }
    Some(out)
}

fn p_range_years(h: &Hit) -> Option<Vec<Found>> {
    let (y1, y2, s1, s2) = if let (Some(a), Some(b)) = (h.get("y1"), h.get("y2")) {
        (
            year_num(a)?,
            year_num(b)?,
            h.span_of("y1")?,
            h.span_of("y2")?,
        )
    } else {
        let a = year_num(h.get("a")?)?;
        let braw = h.get("b")?;
        let b = if braw.len() == 2 {
            a - a % 100 + braw.parse::<i32>().ok()?
        } else {
            year_num(braw)?
        };
        // "1990-1995" is a range; "2019-2" or a phone-like "1990-12" is not.
        if h.after().starts_with(['-', '/'])
            || h.after()
                .starts_with(|c: char| c.is_ascii_digit() || c.is_ascii_lowercase())
            || h.before().ends_with(['-', '/'])
        {
            return None;
        }
        (a, b, h.span_of("a")?, h.span_of("b")?)
    };
    if y2 <= y1 || y2 - y1 > 200 {
        return None;
    }
    let mut a = found(s1, Partial::Year(YearRef::Known(y1)), None);
    a.range_start = true;
    Some(vec![a, found(s2, Partial::Year(YearRef::Known(y2)), None)])
}

fn p_range_months(h: &Hit) -> Option<Vec<Found>> {
    let m1 = month_num(h.get("m1")?)?;
    let m2 = month_num(h.get("m2")?)?;
    let year = year_ref(h, "y");
    let e2 = h.span_of("y").or_else(|| h.span_of("m2"))?.end;
    let mut a = found(h.span_of("m1")?, Partial::Month { year, month: m1 }, None);
    a.range_start = true;
    // Without a year the end falls in the start's year ("from April to October": one season,
    // not October of one year and April of the next).
    let end_year = if year == YearRef::Auto && m2 >= m1 {
        YearRef::Previous
    } else {
        year
    };
    let b = found(
        h.span_of("m2")?.start..e2,
        Partial::Month {
            year: end_year,
            month: m2,
        },
        None,
    );
    Some(vec![a, b])
}

fn p_month_day(h: &Hit) -> Option<Vec<Found>> {
    let month = month_num(h.get("m")?)?;
    let day = day_num(h.get("d")?)?;
    // "May 3" after a number ("page 2 May 3") or "Dec. 7 percent" are unlikely dates.
    if h.get("y").is_none() && is_count_noun(h.next_word()) {
        return None;
    }
    h.one(
        Partial::Day {
            year: year_ref(h, "y"),
            month,
            day,
        },
        None,
    )
}

fn p_numeric_date(h: &Hit) -> Option<Vec<Found>> {
    let year = year_num(h.get("y")?)?;
    let month: u32 = h.get("m")?.parse().ok()?;
    let day: u32 = h.get("d")?.parse().ok()?;
    chrono::NaiveDate::from_ymd_opt(year, month, day)?;
    h.one(
        Partial::Day {
            year: YearRef::Known(year),
            month,
            day,
        },
        None,
    )
}

fn p_slash_date(h: &Hit) -> Option<Vec<Found>> {
    if h.after().starts_with(['/', '-']) || h.before().ends_with(['/', '-']) {
        return None;
    }
    let a: u32 = h.get("a")?.parse().ok()?;
    let b: u32 = h.get("b")?.parse().ok()?;
    let yraw = h.get("y")?;
    let mut year: i32 = yraw.parse().ok()?;
    if yraw.len() == 2 {
        year += if year < 50 { 2000 } else { 1900 };
    }
    // US order (month/day) unless only the other order is a valid date.
    let (month, day) = if a <= 12 { (a, b) } else { (b, a) };
    chrono::NaiveDate::from_ymd_opt(year, month, day)?;
    h.one(
        Partial::Day {
            year: YearRef::Known(year),
            month,
            day,
        },
        None,
    )
}

/// The date of Easter Sunday (Gregorian, anonymous algorithm).
fn easter(y: i32) -> Option<chrono::NaiveDate> {
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let hh = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - hh - k) % 7;
    let m = (a + 11 * hh + 22 * l) / 451;
    let month = (hh + l - 7 * m + 114) / 31;
    let day = (hh + l - 7 * m + 114) % 31 + 1;
    chrono::NaiveDate::from_ymd_opt(y, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// The `n`th `weekday` of a month (n = -1: the last).
fn nth_weekday(y: i32, month: u32, weekday: Weekday, n: u64) -> Option<chrono::NaiveDate> {
    use chrono::Datelike;
    let wd = i64::from(weekday.num_days_from_monday());
    if n > 0 {
        let first = chrono::NaiveDate::from_ymd_opt(y, month, 1)?;
        let shift = (7 + wd - i64::from(first.weekday().num_days_from_monday())) % 7;
        first.checked_add_days(chrono::Days::new(shift as u64 + 7 * (n - 1)))
    } else {
        let last = super::calendar::month_end(y, month)?;
        let shift = (7 + i64::from(last.weekday().num_days_from_monday()) - wd) % 7;
        last.checked_sub_days(chrono::Days::new(shift as u64))
    }
}

/// The date of a named holiday in year `y`.
pub fn holiday_date(name: &str, y: i32) -> Option<chrono::NaiveDate> {
    use chrono::NaiveDate;
    match name {
        "Christmas" | "Christmas Day" => NaiveDate::from_ymd_opt(y, 12, 25),
        "Christmas Eve" => NaiveDate::from_ymd_opt(y, 12, 24),
        "Boxing Day" => NaiveDate::from_ymd_opt(y, 12, 26),
        "New Year's Day" => NaiveDate::from_ymd_opt(y, 1, 1),
        "New Year's Eve" => NaiveDate::from_ymd_opt(y, 12, 31),
        "Independence Day" => NaiveDate::from_ymd_opt(y, 7, 4),
        "Halloween" => NaiveDate::from_ymd_opt(y, 10, 31),
        "Valentine's Day" => NaiveDate::from_ymd_opt(y, 2, 14),
        "Easter" | "Easter Sunday" => easter(y),
        "Good Friday" => easter(y)?.checked_sub_days(chrono::Days::new(2)),
        "Thanksgiving" | "Thanksgiving Day" => nth_weekday(y, 11, Weekday::Thu, 4),
        "Memorial Day" => nth_weekday(y, 5, Weekday::Mon, 0),
        "Labor Day" => nth_weekday(y, 9, Weekday::Mon, 1),
        // The Tuesday after the first Monday of November.
        "Election Day" => {
            nth_weekday(y, 11, Weekday::Mon, 1)?.checked_add_days(chrono::Days::new(1))
        }
        _ => None,
    }
}

fn p_holiday(h: &Hit) -> Option<Vec<Found>> {
    let name = h.get("t")?.split_whitespace().collect::<Vec<_>>().join(" ");
    let rel = h.get("rel").map(|r| r.to_ascii_lowercase());
    let span = if rel.is_some() || h.get("y").is_some() {
        h.span.clone()
    } else {
        h.span()
    };
    let year = match (h.get("y").and_then(year_num), rel.as_deref()) {
        (Some(y), _) => YearRef::Known(y),
        (None, Some("last")) => YearRef::Shift(-100),
        (None, Some("next")) => YearRef::Shift(100),
        (None, Some(_)) => YearRef::Shift(0),
        (None, None) => YearRef::Auto,
    };
    Some(vec![found(span, Partial::Holiday { name, year }, None)])
}

fn p_spelled_year(h: &Hit) -> Option<Vec<Found>> {
    let y = if let Some(c) = h.get("c") {
        let century = match c.to_ascii_lowercase().as_str() {
            "eighteen" => 1800,
            "nineteen" => 1900,
            _ => 2000,
        };
        let rest = h.get("y")?.to_ascii_lowercase();
        century
            + if rest == "hundred" {
                0
            } else {
                number(&rest)? as i32
            }
    } else {
        h.get("tt")?;
        2000 + h.get("tty").and_then(number).unwrap_or(0.0) as i32
    };
    // "more than two thousand years", "two thousand troops": a number counting something.
    let next = h.next_word();
    if Unit::parse(next).is_some() || is_count_noun(next) {
        return None;
    }
    if let Some(m) = h.get("mon").and_then(month_num) {
        return h.one(
            Partial::Month {
                year: YearRef::Known(y),
                month: m,
            },
            None,
        );
    }
    h.one(Partial::Year(YearRef::Known(y)), None)
}

/// The year of "480 BC", "79 AD" (negative before Christ), from the parts `y` and `era`.
fn era_year(h: &Hit) -> Option<i32> {
    let y: i32 = h.get("y")?.parse().ok()?;
    let era = h.get("era")?.to_ascii_uppercase();
    if y == 0 {
        return None;
    }
    Some(if era.starts_with('B') { -y } else { y })
}

fn p_era_year(h: &Hit) -> Option<Vec<Found>> {
    h.one(Partial::Year(YearRef::Known(era_year(h)?)), None)
}

fn p_day_of_month(h: &Hit) -> Option<Vec<Found>> {
    // Only a bare day: "on the 5th, ...", "on the 28 and 29 August"; not "the 5th Army", "the
    // 20th anniversary", "the 4th of July" (a date rule's).
    let after = h.after().trim_start();
    let next = h.next_word().to_ascii_lowercase();
    // "from the 18.7% it owns", "the 6,000 strong brigade": part of a number; "by the
    // 15-member Council": part of a compound. A dash only joins another day ("the 28-29").
    let digit_after = |rest: &str| rest.starts_with(|c: char| c.is_ascii_digit());
    let bare = match after.chars().next() {
        None => true,
        Some(c @ ('.' | ',')) => !digit_after(&after[c.len_utf8()..]),
        Some(';' | ':' | ')') => true,
        Some(c @ ('-' | '\u{2013}')) => digit_after(&after[c.len_utf8()..]),
        Some(_) => matches!(
            next.as_str(),
            "and" | "or" | "to" | "through" | "until" | "till"
        ),
    };
    if !bare {
        return None;
    }
    h.one(Partial::DayOfMonth(day_num(h.get("d")?)?), None)
}

fn p_month_era_year(h: &Hit) -> Option<Vec<Found>> {
    h.one(
        Partial::Month {
            year: YearRef::Known(era_year(h)?),
            month: month_num(h.get("m")?)?,
        },
        None,
    )
}

fn p_the_quarter(h: &Hit) -> Option<Vec<Found>> {
    let unit = h.get("unit")?.to_ascii_lowercase();
    let year_ago = h.get("ago").is_some();
    // "the latest fiscal year" is the last one reported.
    if unit == "year" {
        let current = h
            .get("which")
            .is_some_and(|w| w.trim().eq_ignore_ascii_case("current"));
        return h.one(rel(Unit::Year, if current { 0 } else { -1 }), None);
    }
    // "the current quarter" is the one under way, not the one just reported.
    if h.get("which")
        .is_some_and(|w| w.trim().eq_ignore_ascii_case("current"))
    {
        return h.one(rel(Unit::Quarter, 0), None);
    }
    // "the period" alone is too vague; "the latest period" is the quarter just reported and
    // "the year-ago period" that quarter a year back.
    if unit == "period" && !year_ago && h.get("which").is_none() {
        return None;
    }
    let n = if year_ago { -5 } else { -1 };
    h.one(
        Partial::Rel {
            unit: Unit::Quarter,
            n,
            from_previous: false,
        },
        None,
    )
}

fn p_year_ago_period(h: &Hit) -> Option<Vec<Found>> {
    // Without a quarter named, the quarter before the last one reported, a year back.
    h.one(rel(Unit::Quarter, -5), None)
}

fn p_year_ago_adj(h: &Hit) -> Option<Vec<Found>> {
    h.one(rel(Unit::Year, -1), None)
}

fn p_year_period(h: &Hit) -> Option<Vec<Found>> {
    h.one(Partial::Year(YearRef::Known(year_num(h.get("y")?)?)), None)
}

fn p_year_end(h: &Hit) -> Option<Vec<Found>> {
    let n = if h.get("since").is_some() { -1 } else { 0 };
    let unit = Unit::parse(h.get("unit")?)?;
    h.one(rel(unit, n), Some(Mod::End))
}

fn p_year_ended(h: &Hit) -> Option<Vec<Found>> {
    h.one(Partial::Duration("P1Y".to_string()), None)
}

fn p_the_weekend(h: &Hit) -> Option<Vec<Found>> {
    let t = h.get("t")?.to_ascii_lowercase();
    let partial = if t.starts_with("last") {
        rel(Unit::Weekend, -1)
    } else if t.starts_with("next") {
        rel(Unit::Weekend, 1)
    } else if t.starts_with("this") {
        rel(Unit::Weekend, 0)
    } else {
        Partial::Weekend
    };
    let span = h.span_of("t")?;
    let start = span.start + if t.starts_with("over") { 5 } else { 0 };
    Some(vec![found(start..span.end, partial, None)])
}

fn p_the_current(h: &Hit) -> Option<Vec<Found>> {
    h.one(rel(Unit::parse(h.get("unit")?)?, 0), None)
}

fn p_future_ref(h: &Hit) -> Option<Vec<Found>> {
    h.one(Partial::Ref("FUTURE_REF"), None)
}

fn p_any_night(h: &Hit) -> Option<Vec<Found>> {
    h.one(Partial::AnyDayPart("NI"), None)
}

fn p_next_part(h: &Hit) -> Option<Vec<Found>> {
    let n = match h.get("which") {
        None => 0,
        Some(w) if w.eq_ignore_ascii_case("previous") => -1,
        Some(_) => 1,
    };
    h.one(
        Partial::PartOfDay {
            code: pod_code(h.get("pod")?),
            date: Box::new(Partial::Rel {
                unit: Unit::Day,
                n,
                from_previous: true,
            }),
        },
        None,
    )
}

fn p_decade_words(h: &Hit) -> Option<Vec<Found>> {
    const WORDS: [&str; 8] = [
        "twenties",
        "thirties",
        "forties",
        "fifties",
        "sixties",
        "seventies",
        "eighties",
        "nineties",
    ];
    let w = h.get("w")?.to_ascii_lowercase();
    let i = WORDS.iter().position(|x| *x == w)? as i32;
    h.one(Partial::Decade(192 + i), h.get("mod").and_then(mod_word))
}

fn p_week_of_month(h: &Hit) -> Option<Vec<Found>> {
    let month = month_num(h.get("m")?)?;
    let modifier = match h.get("which")?.to_ascii_lowercase().as_str() {
        "first" => Some(Mod::Start),
        "last" | "final" => Some(Mod::End),
        _ => None,
    };
    h.one(
        Partial::Month {
            year: year_ref(h, "y"),
            month,
        },
        modifier,
    )
}

fn p_month_year(h: &Hit) -> Option<Vec<Found>> {
    let month = month_num(h.get("m")?)?;
    let modifier = h.get("mod").and_then(mod_word);
    if h.get("y").is_none() && h.get("mod").is_none() {
        return None;
    }
    h.one(
        Partial::Month {
            year: year_ref(h, "y"),
            month,
        },
        modifier,
    )
}

fn p_month_rel_year(h: &Hit) -> Option<Vec<Found>> {
    let month = month_num(h.get("m")?)?;
    let shift = match h.get("det")?.to_ascii_lowercase().as_str() {
        "last" => -1,
        "next" => 1,
        _ => 0,
    };
    h.one(
        Partial::Month {
            year: YearRef::Shift(shift),
            month,
        },
        None,
    )
}

fn p_month_of_that_year(h: &Hit) -> Option<Vec<Found>> {
    let month = month_num(h.get("m")?)?;
    h.one(
        Partial::Month {
            year: YearRef::Previous,
            month,
        },
        None,
    )
}

fn p_rel_month(h: &Hit) -> Option<Vec<Found>> {
    let month = month_num(h.get("m")?)?;
    // "last Oct. 23": the day makes it a full date, found by the date rules.
    if h.next_word()
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit())
    {
        return None;
    }
    let r = h.get("rel")?.to_ascii_lowercase();
    // Encode the direction as a year shift resolved against the reference month.
    let year = if r.starts_with("last") || r.contains("past") {
        YearRef::Shift(-100)
    } else if r.starts_with("next") || r.contains("coming") {
        YearRef::Shift(100)
    } else {
        YearRef::Shift(0)
    };
    h.one(Partial::Month { year, month }, None)
}

fn p_mod_year(h: &Hit) -> Option<Vec<Found>> {
    let y = year_num(h.get("y")?)?;
    h.one(Partial::Year(YearRef::Known(y)), mod_word(h.get("mod")?))
}

fn det_shift(det: Option<&str>) -> (i32, bool) {
    match det.map(|d| d.to_ascii_lowercase()) {
        None => (0, false),
        Some(d) => match d.split_whitespace().last().unwrap_or("") {
            "last" | "previous" => (-1, d.contains("the")),
            "next" | "following" => (1, d.contains("the")),
            "that" | "same" => (0, true),
            _ => (0, false),
        },
    }
}

fn p_mod_unit(h: &Hit) -> Option<Vec<Found>> {
    let unit = Unit::parse(h.get("unit")?)?;
    let modifier = mod_word(h.get("mod")?);
    let (n, from_previous) = det_shift(h.get("det"));
    // "the end of the week" is fine; "the turn of the century" has no mod.
    let modifier = if h.get("mod")?.to_ascii_lowercase().contains("turn") {
        None
    } else {
        modifier
    };
    h.one(
        Partial::Rel {
            unit,
            n,
            from_previous,
        },
        modifier,
    )
}

fn p_ago(h: &Hit) -> Option<Vec<Found>> {
    // "years later", "months ago": a reference without a number.
    if let (Some(_), Some(dir)) = (h.get("bare"), h.get("bdir")) {
        let future = dir.eq_ignore_ascii_case("later");
        return h.one(
            Partial::Ref(if future { "FUTURE_REF" } else { "PAST_REF" }),
            None,
        );
    }
    let unit = Unit::parse(h.get("unit")?)?;
    let dir = h.get("dir")?.to_ascii_lowercase();
    let n = number(h.get("n")?);
    let n_i = n.map(|v| v.round() as i32);
    // "two days after the vote": anchored on an event, not a date: a duration.
    if dir == "before" || dir == "after" {
        let next = h.next_word().to_ascii_lowercase();
        if !(next.is_empty() || next == "that" || next == "," || h.after().starts_with([',', '.']))
        {
            let span = h.span.start..h.span_of("unit")?.end;
            return Some(vec![found(
                span,
                Partial::Duration(duration_value(n, unit)),
                None,
            )]);
        }
    }
    let Some(n_i) = n_i else {
        // "several years ago", "a few days later": a reference without a number.
        let future = matches!(dir.as_str(), "later" | "after" | "from now" | "hence");
        return h.one(
            Partial::Ref(if future { "FUTURE_REF" } else { "PAST_REF" }),
            None,
        );
    };
    let (sign, from_previous) = match dir.as_str() {
        "ago" | "previously" => (-1, false),
        "from now" | "hence" => (1, false),
        "earlier" | "before" => (-1, true),
        _ => (1, true),
    };
    let unit = if matches!(unit, Unit::Hour | Unit::Minute | Unit::Second) {
        Unit::Day
    } else {
        unit
    };
    h.one(
        Partial::Rel {
            unit,
            n: sign * n_i,
            from_previous,
        },
        None,
    )
}

fn p_units_around_event(h: &Hit) -> Option<Vec<Found>> {
    h.one(Partial::Ref("PAST_REF"), None)
}

fn p_following_units(h: &Hit) -> Option<Vec<Found>> {
    let unit = Unit::parse(h.get("unit")?)?;
    h.one(Partial::Duration(duration_value(None, unit)), None)
}

fn p_the_following(h: &Hit) -> Option<Vec<Found>> {
    let (unit, n) = if let Some(which) = h.get("which") {
        let unit = Unit::parse(h.get("unit")?)?;
        let n = match which.to_ascii_lowercase().as_str() {
            "following" | "next" => 1,
            "same" => 0,
            _ => -1,
        };
        // "the next year" / "the previous year" at the start of a text refer to the reference.
        (unit, n)
    } else {
        (Unit::parse(h.get("unit2")?)?, 0)
    };
    h.one(
        Partial::Rel {
            unit,
            n,
            from_previous: true,
        },
        None,
    )
}

fn p_day_before_after(h: &Hit) -> Option<Vec<Found>> {
    let dir = h.get("dir")?.to_ascii_lowercase();
    let after = h.after();
    let next = h.next_word();
    let alone = after.starts_with([',', '.', ';', ':'])
        || dir == "following"
            && after.starts_with(' ')
            && next.starts_with(|c: char| c.is_ascii_lowercase())
            && !matches!(
                next,
                "the" | "a" | "an" | "his" | "her" | "its" | "their" | "this" | "that" | "my"
            );
    if !alone {
        return None;
    }
    h.one(
        Partial::Rel {
            unit: Unit::Day,
            n: if dir == "before" { -1 } else { 1 },
            from_previous: true,
        },
        None,
    )
}

fn p_past_unit(h: &Hit) -> Option<Vec<Found>> {
    let unit = Unit::parse(h.get("unit")?)?;
    // "the last week of August" is a part of August, not a length.
    if h.next_word().eq_ignore_ascii_case("of") {
        return None;
    }
    h.one(Partial::Duration(duration_value(Some(1.0), unit)), None)
}

fn p_rel_unit(h: &Hit) -> Option<Vec<Found>> {
    let unit = Unit::parse(h.get("unit")?)?;
    let det = h.get("det")?.to_ascii_lowercase();
    let n = match det.as_str() {
        "last" | "previous" => -1,
        "next" | "coming" => 1,
        _ => 0,
    };
    // "last year's" is a date; "next week's" too. "the previous year" handled by the_following.
    h.one(rel(unit, n), None)
}

fn p_day_deictic(h: &Hit) -> Option<Vec<Found>> {
    // "today's youth", "in today's world": the present age, not the day (untagged in TimeBank).
    if h.after().starts_with("'s")
        && matches!(
            next_word(h.text, h.span.end + 2)
                .to_ascii_lowercase()
                .as_str(),
            "world" | "youth" | "society" | "generation" | "children" | "kids" | "young"
        )
    {
        return None;
    }
    // "USA Today", "VOA Today": a capitalised "Today" right after a capitalised word in the
    // middle of a sentence ends a name (a newspaper, a programme).
    if h.get("w") == Some("Today") && h.get("mod").is_none() && after_capitalised_word(h) {
        return None;
    }
    let n = match h.get("w")?.to_ascii_lowercase().as_str() {
        "yesterday" => -1,
        "tomorrow" => 1,
        _ => 0,
    };
    h.one(rel(Unit::Day, n), h.get("mod").and_then(mod_word))
}

/// Whether the match follows, on the same line and with only spaces between, a word written
/// with a capital that does not open its sentence ("This is VOA Today", not "Today" after a
/// full stop).
fn after_capitalised_word(h: &Hit) -> bool {
    let before = h.before();
    let trimmed = before.trim_end_matches(' ');
    if trimmed.len() == before.len() {
        return false;
    }
    let start = crate::tagger::after_last(trimmed, |c: char| !(c.is_alphanumeric() || c == '.'));
    let word = &trimmed[start..];
    if !word.chars().next().is_some_and(char::is_uppercase) || word.ends_with('.') {
        return false;
    }
    // The word itself opens a sentence (or the text): "Today" is then the name's only
    // capitalised evidence, e.g. "Markets Today" in a headline; keep those as dates.
    let earlier = trimmed[..start].trim_end();
    !(earlier.is_empty() || earlier.ends_with(['.', '!', '?', '"', '\n']))
}

/// Verbs of a publication as the subject: "the Israeli daily said" (past forms only: "daily
/// reports" is an adjective and a noun).
const PUBLICATION_VERBS: &[&str] = &[
    "said",
    "reported",
    "wrote",
    "quoted",
    "added",
    "published",
    "cited",
    "carried",
    "claimed",
    "commented",
    "noted",
];

/// "daily", "weekly" or "monthly" used as a noun: a publication, named after it ("the
/// Communist Party daily Granma", "the news weekly Der Spiegel") or the subject of a reporting
/// verb ("the Israeli daily said").
fn publication_noun(h: &Hit) -> bool {
    let next = h.next_word();
    if PUBLICATION_VERBS.contains(&next) {
        return true;
    }
    next.chars().next().is_some_and(char::is_uppercase)
        && month_num(next).is_none()
        && weekday(next).is_none()
        && h.after().starts_with(' ')
}

/// Newspaper and proper-name words that follow a weekday in a title ("The Sunday Times").
const WEEKDAY_NAME_NOUNS: &[&str] = &[
    "Times",
    "Telegraph",
    "Mirror",
    "Express",
    "Post",
    "Herald",
    "Mail",
    "Observer",
    "Independent",
    "Tribune",
    "Star",
    "Journal",
    "Sport",
    "People",
    "Night",
    "School",
    "Record",
    "Sun",
    "World",
    "Business",
    "Review",
    "Magazine",
    "Edition",
    "Show",
    "Bloody",
];

fn p_weekday(h: &Hit) -> Option<Vec<Found>> {
    let weekday = weekday(h.get("wd")?)?;
    let next = h.next_word();
    if WEEKDAY_NAME_NOUNS.contains(&next) && h.get("dir").is_none() {
        return None;
    }
    let dir = match h.get("dir").map(|d| d.to_ascii_lowercase()) {
        None => Dir::Auto,
        Some(d) if d.starts_with("last") || d.contains("past") || d.starts_with("prec") => {
            Dir::Last
        }
        Some(d) if d.starts_with("previous") => Dir::Last,
        Some(d) if d.starts_with("next") || d.contains("coming") || d == "following" => Dir::Next,
        Some(_) => Dir::This,
    };
    h.one(Partial::Weekday { weekday, dir }, None)
}

fn p_decade(h: &Hit) -> Option<Vec<Found>> {
    let (dec, modifier) = if let Some(d) = h.get("dec") {
        (d.parse::<i32>().ok()?, h.get("mod"))
    } else {
        let d: i32 = h.get("dec2")?.parse().ok()?;
        (if d >= 3 { 190 + d } else { 200 + d }, h.get("mod2"))
    };
    // "the 1800s" is a century, not a decade.
    if dec % 10 == 0 && h.get("dec").is_some() && h.get("dec").is_some_and(|d| d.ends_with('0')) {
        return h.one(Partial::Century(dec / 10), modifier.and_then(mod_word));
    }
    h.one(Partial::Decade(dec), modifier.and_then(mod_word))
}

fn ordinal(s: &str) -> Option<i32> {
    let s = s.to_ascii_lowercase();
    let digits: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
    if !digits.is_empty() {
        return digits.parse().ok();
    }
    const WORDS: [&str; 20] = [
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
        "eighth",
        "ninth",
        "tenth",
        "eleventh",
        "twelfth",
        "thirteenth",
        "fourteenth",
        "fifteenth",
        "sixteenth",
        "seventeenth",
        "eighteenth",
        "nineteenth",
        "twentieth",
    ];
    if s == "twenty-first" {
        return Some(21);
    }
    WORDS.iter().position(|w| *w == s).map(|i| i as i32 + 1)
}

fn p_century(h: &Hit) -> Option<Vec<Found>> {
    let n = ordinal(h.get("ord")?)?;
    if !(1..=21).contains(&n) {
        return None;
    }
    h.one(Partial::Century(n - 1), h.get("mod").and_then(mod_word))
}

fn p_season(h: &Hit) -> Option<Vec<Found>> {
    let season = match h.get("s")?.to_ascii_lowercase().as_str() {
        "spring" => Season::Spring,
        "summer" => Season::Summer,
        "fall" | "autumn" => Season::Fall,
        _ => Season::Winter,
    };
    let det = h.get("det").map(|d| d.to_ascii_lowercase());
    // "the early summer" is "early summer" with its article.
    let the_mod = det.as_deref().is_some_and(|d| d.starts_with("the "));
    let det = det.map(|d| d.trim_start_matches("the ").trim_start().to_string());
    // "the spring of 480 BC": a year before Christ.
    let bc_year = h
        .get("ybc")
        .and_then(year_num)
        .filter(|y| *y > 0)
        .map(|y| -y);
    let year = match (h.get("y").and_then(year_num).or(bc_year), det.as_deref()) {
        (Some(y), _) => YearRef::Known(y),
        (None, Some(d)) if d.starts_with("last") || d.contains("past") => YearRef::Shift(-100),
        (None, Some(d)) if d.starts_with("next") || d.contains("coming") => YearRef::Shift(100),
        (None, Some("this")) => YearRef::Shift(0),
        (None, Some(_)) => YearRef::Auto,
        (None, None) => {
            // "summer", "winter" and "autumn" are seasons wherever they stand ("their summer
            // offensive"); "spring" and "fall" are also verbs and nouns, so they need a
            // temporal word before them.
            let prev = h.prev_word();
            let ambiguous = matches!(season, Season::Spring | Season::Fall)
                || h.get("s").is_some_and(|w| w.eq_ignore_ascii_case("fall"));
            // "the Spring Offensive", "the fall campaign": the season of an event.
            let event_after = matches!(
                h.next_word().to_ascii_lowercase().as_str(),
                "offensive"
                    | "offensives"
                    | "campaign"
                    | "campaigns"
                    | "uprising"
                    | "fighting"
                    | "harvest"
                    | "session"
                    | "elections"
                    | "term"
                    | "semester"
            );
            if ambiguous
                && !event_after
                && !matches!(
                    prev.as_str(),
                    "in" | "during" | "since" | "until" | "by" | "this" | "next" | "last"
                )
            {
                return None;
            }
            YearRef::Auto
        }
    };
    // "the spring in your step", "the fall of Rome": a season needs a year, a relative
    // determiner, or a temporal preposition before it.
    if (det.as_deref() == Some("the") || the_mod) && h.get("y").is_none() {
        let prev = h.prev_word();
        if !matches!(
            prev.as_str(),
            "in" | "during"
                | "since"
                | "until"
                | "by"
                | "over"
                | "through"
                | "into"
                | "of"
                | "throughout"
        ) {
            return None;
        }
        let next = h.next_word().to_ascii_lowercase();
        if next == "of" {
            return None;
        }
    }
    let modifier = det.as_deref().and_then(|d| {
        if matches!(d, "early" | "late" | "mid") {
            mod_word(d)
        } else {
            None
        }
    });
    // "the failure of the Spring Offensive": a capitalised season names an operation; the
    // article belongs to the name, not to the season.
    if det.as_deref() == Some("the")
        && let Some(ss) = h.span_of("s")
        && h.get("s")
            .is_some_and(|w| w.starts_with(|c: char| c.is_uppercase()))
    {
        return Some(vec![found(
            ss.start..h.span().end,
            Partial::Season { year, season },
            modifier,
        )]);
    }
    h.one(Partial::Season { year, season }, modifier)
}

fn p_quarter(h: &Hit) -> Option<Vec<Found>> {
    let (q, year) = if let Some(qq) = h.get("qq") {
        (qq.get(1..2)?.parse().ok()?, year_ref(h, "y2"))
    } else {
        let q = match h.get("q")?.to_ascii_lowercase().as_str() {
            "first" | "1st" => 1,
            "second" | "2nd" => 2,
            "third" | "3rd" => 3,
            _ => 4,
        };
        let det = h
            .get("det")
            .map(|d| d.to_ascii_lowercase())
            .unwrap_or_default();
        let of_year = h.get("ydet").map(|d| d.to_ascii_lowercase());
        let year = if let Some(y) = h.get("y").or(h.get("dy")).and_then(year_num) {
            YearRef::Known(y)
        } else if let Some(d) = of_year {
            YearRef::Shift(match d.as_str() {
                "last" => -1,
                "next" => 1,
                _ => 0,
            })
        } else if det.starts_with("last") || det.contains("year-") {
            YearRef::Shift(-1)
        } else if det.starts_with("next") {
            YearRef::Shift(1)
        } else if det.starts_with("this") {
            YearRef::Shift(0)
        } else {
            YearRef::Auto
        };
        (q, year)
    };
    // "the third-quarter results": the adjective alone is the expression.
    if let (Some(det), Some(qs)) = (h.get("det"), h.span_of("q"))
        && det.eq_ignore_ascii_case("the")
        && h.get("q").is_some()
        && h.text.get(qs.end..qs.end + 1) == Some("-")
    {
        {
            let end = h.span().end;
            // "the fiscal second-quarter net": the adjective keeps "fiscal".
            let start = h.span_of("fiscal").map_or(qs.start, |f| f.start);
            return Some(vec![found(
                start..end,
                Partial::Quarter { year, quarter: q },
                None,
            )]);
        }
    }
    h.one(Partial::Quarter { year, quarter: q }, None)
}

fn p_half(h: &Hit) -> Option<Vec<Found>> {
    let half = match h.get("h").or(h.get("h2"))?.to_ascii_lowercase().as_str() {
        "first" | "1st" => 1,
        _ => 2,
    };
    let year = if let Some(y) = h.get("y").and_then(year_num) {
        YearRef::Known(y)
    } else {
        match h.get("ydet").map(|d| d.to_ascii_lowercase()).as_deref() {
            Some("last") => YearRef::Shift(-1),
            Some("next") => YearRef::Shift(1),
            Some("this") => YearRef::Shift(0),
            _ => YearRef::Auto,
        }
    };
    h.one(Partial::Half { year, half }, None)
}

fn p_weekday_set(h: &Hit) -> Option<Vec<Found>> {
    let wd = h.get("wd").or(h.get("wd2")).or(h.get("wds"))?;
    let n = weekday(wd)?.number_from_monday();
    let pod = h
        .get("pod")
        .or(h.get("pods"))
        .map(|p| format!("T{}", pod_code(p.trim_end_matches('s'))))
        .unwrap_or_default();
    h.one(Partial::Set(format!("XXXX-WXX-{n}{pod}")), None)
}

fn p_set(h: &Hit) -> Option<Vec<Found>> {
    if let Some(m) = h.get("mon") {
        return h.one(Partial::Set(format!("XXXX-{:02}", month_num(m)?)), None);
    }
    if let Some(wd) = h.get("wd") {
        let n = weekday(wd)?.number_from_monday();
        return h.one(Partial::Set(format!("XXXX-WXX-{n}")), None);
    }
    let value = if let Some(adv) = h.get("adv") {
        if publication_noun(h) {
            return None;
        }
        match adv.to_ascii_lowercase().as_str() {
            "daily" | "nightly" => "P1D",
            "weekly" => "P1W",
            "monthly" => "P1M",
            "quarterly" => "P3M",
            "hourly" => "PT1H",
            _ => "P1Y",
        }
        .to_string()
    } else {
        let unit = Unit::parse(h.get("unit")?)?;
        let n = match h.get("n") {
            Some(n) => number(n),
            None => Some(1.0),
        };
        duration_value(n, unit)
    };
    h.one(Partial::Set(value), None)
}

/// Nouns that make a number a count, not a date part ("13 percent", "1999 points").
fn is_count_noun(word: &str) -> bool {
    const NOUNS: &[&str] = &[
        "percent",
        "per",
        "points",
        "point",
        "people",
        "jobs",
        "troops",
        "soldiers",
        "units",
        "votes",
        "dollars",
        "euros",
        "yen",
        "miles",
        "kilometers",
        "km",
        "tons",
        "tonnes",
        "barrels",
        "shares",
        "cars",
        "homes",
        "students",
        "members",
        "workers",
        "pounds",
        "feet",
        "meters",
        "metres",
        "children",
        "women",
        "men",
        "deaths",
        "cases",
        "seats",
        "games",
        "goals",
        "runs",
        "yards",
        "pages",
        "words",
        "times",
        "million",
        "billion",
        "thousand",
        "hundred",
        "%",
    ];
    let w = word.to_ascii_lowercase();
    NOUNS.contains(&w.as_str())
}

fn p_duration(h: &Hit) -> Option<Vec<Found>> {
    let unit = Unit::parse(h.get("unit")?)?;
    let n_text = h.get("n")?;
    let n = number(n_text);
    // "a second attack", "a second column": the ordinal, not one second.
    if unit == Unit::Second
        && matches!(n_text.to_ascii_lowercase().as_str(), "a" | "an")
        && h.after()
            .trim_start()
            .starts_with(|c: char| c.is_alphabetic())
        && !matches!(
            h.next_word().to_ascii_lowercase().as_str(),
            "or" | "and" | "later" | "earlier" | "ago" | "before" | "after"
        )
    {
        return None;
    }
    // "a week" alone is fine; "some day", "many years" are vague but still durations.
    // Reject "the 2 days" fragments of bigger numbers like "1,000 years" (comma before).
    if h.before().ends_with(',') && n_text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // "three-quarters of the troops" is a fraction, not nine months.
    if unit == Unit::Quarter
        && (h.get("t").is_some_and(|t| t.contains('-'))
            || h.next_word().eq_ignore_ascii_case("of")
                && matches!(
                    n_text.to_ascii_lowercase().as_str(),
                    "a" | "one" | "two" | "three" | "1" | "2" | "3"
                ))
    {
        return None;
    }
    // "it was argued in some quarters", "criticism from many quarters": circles of opinion.
    if unit == Unit::Quarter
        && matches!(
            n_text.to_ascii_lowercase().as_str(),
            "some" | "many" | "certain" | "other" | "all"
        )
        && matches!(h.prev_word().as_str(), "in" | "from")
    {
        return None;
    }
    // "a year-earlier loss", "year-ago results": a comparison period, not a length.
    if h.text
        .get(h.span.end..)
        .is_some_and(|a| a.starts_with("-earlier") || a.starts_with("-ago"))
    {
        return None;
    }
    // Ages ("a 6-year-old boy") are not durations in TimeML.
    if h.get("old").is_some_and(|o| o.ends_with("old")) {
        return None;
    }
    // "a month-long siege", "a months-long trek": the article is the noun's, the length is the
    // unit (one, or an unknown number when plural).
    let article_long = h.get("old").is_some_and(|o| o.ends_with("long"))
        && matches!(n_text.to_ascii_lowercase().as_str(), "a" | "an");
    let n = if article_long && h.get("unit").is_some_and(|u| u.ends_with('s')) {
        None
    } else {
        n
    };
    // "over a week" is more than a week; "over three years" is during them: "over" stays out.
    // "about a decade" keeps its "about", "about two weeks" (a count) does not (TimeBank).
    let over_count = h
        .get("mod")
        .is_some_and(|m| m.eq_ignore_ascii_case("over") || m.eq_ignore_ascii_case("about"))
        && !matches!(n_text.to_ascii_lowercase().as_str(), "a" | "an");
    let about_count = over_count
        && h.get("mod")
            .is_some_and(|m| m.eq_ignore_ascii_case("about"));
    let n = if h.get("half").is_some() {
        n.map(|v| v + 0.5)
    } else {
        n
    };
    let modifier = h
        .get("mod")
        .filter(|_| !over_count || about_count)
        .map(|m| {
            let m = m.split_whitespace().collect::<Vec<_>>().join(" ");
            match m.to_ascii_lowercase().as_str() {
                "more than" | "over" | "a little more than" | "slightly more than" => Mod::MoreThan,
                "less than" | "fewer than" | "under" | "nearly" | "almost"
                | "a little less than" | "slightly less than" => Mod::LessThan,
                "at least" => Mod::EqualOrMore,
                "up to" | "no more than" => Mod::EqualOrLess,
                _ => Mod::Approx,
            }
        });
    // TIMEX3 takes the modifier into the expression ("nearly two years"), but not the article
    // of a duration used as an adjective ("the [46-day] battle").
    let mut span = h.span();
    if over_count && let Some(ns) = h.span_of("the").or(h.span_of("n")) {
        span.start = ns.start;
    }
    if let (Some(the), Some(ns), Some(us)) = (h.get("the"), h.span_of("n"), h.span_of("unit"))
        && the.split_whitespace().count() == 1
        && (h.text.get(ns.end..us.start).is_some_and(|gap| gap == "-")
            // "the two day rally": a count with a singular unit is an adjective too.
            || n.is_some_and(|v| v > 1.0)
                && h.get("unit").is_some_and(|u| !u.ends_with('s'))
                && h.get("half").is_none())
    {
        span.start = ns.start;
    }
    if article_long && let Some(us) = h.span_of("unit") {
        span.start = us.start;
    }
    Some(vec![found(
        span,
        Partial::Duration(duration_value(n, unit)),
        modifier,
    )])
}

fn p_unit_long(h: &Hit) -> Option<Vec<Found>> {
    let unit_text = h.get("unit")?;
    let unit = Unit::parse(unit_text)?;
    let n = (!unit_text.ends_with('s')).then_some(1.0);
    h.one(Partial::Duration(duration_value(n, unit)), None)
}

fn p_the_year(h: &Hit) -> Option<Vec<Found>> {
    if h.get("tail").is_some() {
        return None;
    }
    h.one(
        Partial::Rel {
            unit: Unit::Year,
            n: 0,
            from_previous: true,
        },
        h.get("mod").and_then(mod_word),
    )
}

fn p_the_week(h: &Hit) -> Option<Vec<Found>> {
    let possessive = h.get("tail").is_some_and(|t| t == "'s");
    if !(possessive || h.get("pre").is_some() && h.get("tail").is_none()) {
        return None;
    }
    h.one(
        Partial::Rel {
            unit: Unit::Week,
            n: 0,
            from_previous: true,
        },
        None,
    )
}

fn p_per_unit(h: &Hit) -> Option<Vec<Found>> {
    let unit = Unit::parse(h.get("unit")?)?;
    h.one(Partial::Duration(duration_value(Some(1.0), unit)), None)
}

fn p_duration_vague(h: &Hit) -> Option<Vec<Found>> {
    if h.get("ago").is_some() {
        return None;
    }
    h.one(Partial::Duration("PXX".to_string()), None)
}

fn p_duration_bare(h: &Hit) -> Option<Vec<Found>> {
    let unit = Unit::parse(h.get("unit")?)?;
    h.one(Partial::Duration(duration_value(None, unit)), None)
}

/// Words before a bare month or year that make it temporal.
const TEMPORAL_PREVIOUS: &[&str] = &[
    "in",
    "since",
    "until",
    "till",
    "by",
    "from",
    "through",
    "during",
    "before",
    "after",
    "of",
    "to",
    "early",
    "late",
    "mid",
    "around",
    "circa",
    "c.",
    "and",
    "or",
    "between",
    "last",
    "next",
    "this",
    "that",
    "each",
    "every",
    "for",
    "on",
    "as",
    "the",
    "throughout",
    "into",
    "about",
    "ending",
    "beginning",
    "starting",
    "spring",
    "summer",
    "autumn",
    "fall",
    "winter",
    "than",
];

fn p_month_bare(h: &Hit) -> Option<Vec<Found>> {
    let m = h.get("m")?;
    let month = month_num(m)?;
    let prev = h.prev_word();
    let prev = prev.trim_end_matches(',');
    // Abbreviations ("Jan") and ambiguous names ("May", "March", "June", "August") need a
    // temporal word before them; full unambiguous names also pass after a comma or at a
    // sentence start followed by a comma.
    let full = m.len() > 4 && !matches!(m, "March" | "June" | "July" | "August" | "April");
    // "under a June agreement", "the September attacks", "its October report": a month as the
    // modifier of a noun, after a determiner (not "the March on Rome", "the May of old").
    let next = h.next_word();
    let modifier = matches!(
        prev,
        "a" | "an" | "the" | "its" | "their" | "his" | "her" | "our" | "this" | "that"
    ) && h.after().starts_with(' ')
        && next.starts_with(|c: char| c.is_ascii_lowercase())
        && !matches!(
            next,
            "on" | "of"
                | "to"
                | "in"
                | "for"
                | "from"
                | "by"
                | "with"
                | "at"
                | "and"
                | "or"
                | "is"
                | "was"
                | "will"
                | "has"
                | "had"
        );
    // "the March on Washington", "the March for Life", "the March to the Sea": a march.
    let a_march = m == "March"
        && prev == "the"
        && matches!(next, "on" | "for" | "to" | "against" | "through");
    // "September saw the Germans fight on.": an unambiguous month opening a sentence, as its
    // subject.
    let before = h.before().trim_end();
    let subject = full
        && (before.is_empty() || before.ends_with(['.', '!', '?', '\n']))
        && h.after().starts_with(' ')
        && next.starts_with(|c: char| c.is_ascii_lowercase());
    let ok = TEMPORAL_PREVIOUS.contains(&prev)
        || (full && h.after().starts_with([',', '.', ';']))
        || modifier
        || subject;
    if !ok || a_march {
        return None;
    }
    // An abbreviation without its period before a capitalised word is a first name: "Hungary
    // and Jan Kavan".
    if m.len() <= 4
        && !matches!(m, "May" | "June" | "July")
        && !m.ends_with('.')
        && h.after().starts_with(' ')
        && h.next_word().starts_with(|c: char| c.is_uppercase())
    {
        return None;
    }
    h.one(
        Partial::Month {
            year: YearRef::Auto,
            month,
        },
        None,
    )
}

fn p_year_bare(h: &Hit) -> Option<Vec<Found>> {
    let y = year_num(h.get("y")?)?;
    let before = h.before();
    let after = h.after();
    if before.ends_with(['$', '#', '/', '.', ',', '-', '£', '€', ':', '+'])
        // A year runs into a capital in text stripped of markup ("1918German"), never into a
        // digit or a lowercase letter.
        || after.starts_with(|c: char| c.is_ascii_digit() || c.is_ascii_lowercase())
        || after.starts_with([',', '.', ':', '/', '-'])
            && after
                .get(1..2)
                .is_some_and(|c| c.chars().all(|c| c.is_ascii_digit()))
        || after.starts_with('%')
    {
        return None;
    }
    let prev = h.prev_word();
    let prev = prev.trim_end_matches(',');
    const NOT_YEAR_PREVIOUS: &[&str] = &[
        "section",
        "article",
        "no.",
        "no",
        "nos.",
        "number",
        "model",
        "flight",
        "room",
        "rule",
        "resolution",
        "chapter",
        "page",
        "pages",
        "form",
        "route",
        "highway",
        "boeing",
        "airbus",
        "windows",
        "ps",
        "code",
        "bill",
        "act",
        "paragraph",
        "item",
        "exhibit",
        "unit",
        "suite",
        "apartment",
        "box",
        "lot",
        "gate",
        "platform",
        "channel",
        "interstate",
        "version",
        "v.",
        "scored",
        "score",
        "won",
        "lost",
        "about",
        "approximately",
        "roughly",
        "some",
        "nearly",
        "over",
        "under",
        "only",
        "just",
        "total",
        "killed",
        "of",
    ];
    let next = h.next_word();
    if is_count_noun(next) {
        return None;
    }
    let modern = (1900..=2099).contains(&y);
    // "the election of 1860", "the Constitution of 1791" are years; "a total of 1500" is not:
    // after "of", 1600-2099 only.
    let year_like = (1600..=2099).contains(&y);
    // A year alone in parentheses: "the Civil Constitution of the Clergy (1790)".
    let in_parens = before.ends_with('(') && after.starts_with(')');
    if NOT_YEAR_PREVIOUS.contains(&prev)
        && !((prev == "of" && year_like) || (prev == "about" && modern))
    {
        return None;
    }
    // A plural noun after a bare number ("1500 soldiers") makes it a count; years before 1800
    // need a temporal word before them.
    let temporal_before = TEMPORAL_PREVIOUS.contains(&prev) || in_parens;
    if !temporal_before && !(1800..=2099).contains(&y) {
        return None;
    }
    // "1990 and beyond", "1994 or later": an open end.
    let modifier = h.get("open").map(|o| {
        let o = o.to_ascii_lowercase();
        if o.contains("earlier") || o.contains("before") {
            Mod::OnOrBefore
        } else {
            Mod::OnOrAfter
        }
    });
    Some(vec![found(
        h.span(),
        Partial::Year(YearRef::Known(y)),
        modifier,
    )])
}

fn p_the_time(h: &Hit) -> Option<Vec<Found>> {
    let pre = h.get("pre")?.to_ascii_lowercase();
    let that = h.get("t")?.to_ascii_lowercase().starts_with("that");
    let being = h.get("being").is_some();
    let ok_pre = match pre.as_str() {
        "at" => !being,
        "for" => being,
        // "during the time" and "by the time" name the time of a clause that follows.
        _ => that && !being,
    };
    if !ok_pre {
        return None;
    }
    // What follows must not name the event the time is of: a clause or an "of" phrase ("at
    // the time of its founding", "at the time he left office", "at the time Arnold reached
    // Quebec"), only punctuation or the rest of the sentence's own clause ("was", "in").
    let next = h.after().trim_start();
    let word: String = next
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '\'')
        .collect();
    if !word.is_empty() {
        let lower = word.to_ascii_lowercase();
        const CLAUSE: &[&str] = &[
            "of", "when", "that", "which", "he", "she", "it", "they", "we", "i", "you", "the", "a",
            "an", "this", "his", "her", "their", "its", "our", "there", "to", "for",
        ];
        if word.starts_with(|c: char| c.is_uppercase()) || CLAUSE.contains(&lower.as_str()) {
            return None;
        }
    }
    let value = if being { "PRESENT_REF" } else { "PAST_REF" };
    h.one(Partial::Ref(value), None)
}

fn p_ref(h: &Hit) -> Option<Vec<Found>> {
    let w = h.get("w")?.to_ascii_lowercase();
    // "were killed, most recently last October": the date that follows is the time.
    if w == "recently" && h.prev_word() == "most" {
        return None;
    }
    let w = w.trim_start_matches("more ").trim_start();
    let value = if w.contains("future") || w.contains("term") || w.contains("possible") {
        "FUTURE_REF"
    } else if w.starts_with("recent")
        || w.starts_with("late")
        || w.contains("past")
        || w.starts_with("formerly")
        || w.starts_with("previously")
    {
        "PAST_REF"
    } else {
        "PRESENT_REF"
    };
    let span = if w.starts_with("in ") {
        let s = h.span();
        // "in future quarters": the future of a unit, not "in future" alone.
        let next = h.next_word();
        if matches!(
            next.to_ascii_lowercase().as_str(),
            "days" | "weeks" | "months" | "quarters" | "years"
        ) && h
            .after()
            .strip_prefix(' ')
            .is_some_and(|a| a.starts_with(next))
        {
            (s.start + 3)..(s.end + 1 + next.len())
        } else {
            (s.start + 3)..s.end
        }
    } else {
        h.span()
    };
    Some(vec![found(span, Partial::Ref(value), None)])
}

// ---- the engine ---------------------------------------------------------------------------------

/// Expands `{MACRO}`s in a pattern.
pub fn expand(pattern: &str) -> String {
    let mut out = pattern.to_string();
    for (name, body) in MACROS {
        out = out.replace(&format!("{{{name}}}"), body);
    }
    out
}

static ENGINE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    let patterns: Vec<String> = RULES.iter().map(|r| expand(r.pattern)).collect();
    Regex::builder()
        .syntax(syntax::Config::new().case_insensitive(true).unicode(false))
        .configure(Regex::config().hybrid_cache_capacity(8 << 20))
        .build_many(&patterns)
        .ok()
});

/// Checks that every rule pattern compiles; used by tests and at service start.
pub fn check() -> Result<(), String> {
    for r in RULES {
        Regex::builder()
            .syntax(syntax::Config::new().case_insensitive(true).unicode(false))
            .build(&expand(r.pattern))
            .map_err(|e| format!("rule {}: {e:?}", r.name))?;
    }
    if ENGINE.is_none() {
        return Err("the combined rule set does not compile".into());
    }
    Ok(())
}

/// Finds every candidate expression in `text`, in order, without overlaps.
pub fn extract(text: &str) -> Vec<Found> {
    let Some(re) = ENGINE.as_ref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut caps = re.create_captures();
    let mut pos = 0;
    while pos < text.len() {
        let input = Input::new(text).range(pos..);
        re.search_captures(&input, &mut caps);
        let Some(m) = caps.get_match() else { break };
        let rule = &RULES[m.pattern().as_usize()];
        let hit = Hit {
            text,
            caps: &caps,
            span: m.start()..m.end(),
        };
        match (rule.produce)(&hit) {
            Some(found) if !found.is_empty() => {
                for mut f in found {
                    f.rule = rule.name;
                    if is_quoted_title(text, &f.span) || is_compound_modifier(text, &f.span) {
                        continue;
                    }
                    widen_around(text, &mut f);
                    out.push(f);
                }
                pos = m.end().max(pos + 1);
            }
            _ => {
                // Rejected: skip to the next word so a lower-priority rule can still match later.
                pos = next_word_start(text, m.start());
            }
        }
    }
    out
}

/// A programme or film title in quotes, in title case: ABC's "This Week", CBS's "60 Minutes".
fn is_quoted_title(text: &str, span: &Range<usize>) -> bool {
    let before = super::window(text, span.start, span.start, 2).0;
    if !(before.ends_with('"') || before.ends_with("``") || before.ends_with("''")) {
        return false;
    }
    let Some(t) = text.get(span.clone()) else {
        return false;
    };
    // The title ends with the quote, or runs on in title case ("This Week With David
    // Brinkley"); "the \"Ten Year's Civil War\"", "\"57 Days of Hell\"" name periods.
    let after = super::window(text, span.end, span.end, 3).1;
    let title_ends = (after.starts_with([',', '.', '"', '\'']) && !after.starts_with("'s"))
        || after
            .strip_prefix(' ')
            .is_some_and(|a| a.starts_with(|c: char| c.is_uppercase()));
    let words: Vec<&str> = t.split_whitespace().collect();
    title_ends
        && words.len() >= 2
        && words.iter().skip(1).all(|w| {
            w.starts_with(|c: char| c.is_uppercase())
                && !MONTH_OR_WEEKDAY_WORDS.iter().any(|m| w.starts_with(m))
        })
}

/// The first half of a compound modifier of comparison: "quarter-to-quarter", "a year-to-year
/// basis", "year-over-year", "week-on-week". It names a kind of comparison, not a time.
fn is_compound_modifier(text: &str, span: &Range<usize>) -> bool {
    // Almost every expression is followed by something else than a hyphen: no allocation then.
    if !text.get(span.end..).is_some_and(|a| a.starts_with('-')) {
        return false;
    }
    let after = super::window(text, span.end, span.end, 12)
        .1
        .to_ascii_lowercase();
    let Some(rest) = ["-to-", "-over-", "-on-"]
        .iter()
        .find_map(|link| after.strip_prefix(link))
    else {
        return false;
    };
    [
        "second", "minute", "hour", "day", "week", "month", "quarter", "year", "date",
    ]
    .iter()
    .any(|unit| rest.starts_with(unit))
}

/// Capitalised words that are capitalised anyway (so do not make a title).
const MONTH_OR_WEEKDAY_WORDS: &[&str] = &[
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Mon",
    "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
];

/// "around Nov. 1", "around 7:15 p.m.": TIMEX3 takes "around" into a point in time, as APPROX.
fn widen_around(text: &str, f: &mut Found) {
    // A range ("around February 14 - February 16") is approximate as a whole, not its start.
    if f.range_start
        || matches!(
            f.partial,
            Partial::Duration(_) | Partial::Set(_) | Partial::Ref(_)
        )
    {
        return;
    }
    let before = super::window(text, f.span.start, f.span.start, 16).0;
    let Some(head) = before.strip_suffix(' ') else {
        return;
    };
    let word_start = crate::tagger::after_last(head, |c: char| !c.is_alphabetic());
    // Not the particle of "get around Wednesday's ruling".
    let particle = text.get(f.span.end..).is_some_and(|a| a.starts_with("'s"))
        || matches!(
            prev_word(text, f.span.start - (before.len() - word_start)).as_str(),
            "get"
                | "gets"
                | "got"
                | "getting"
                | "turn"
                | "turned"
                | "come"
                | "came"
                | "go"
                | "went"
        );
    if !particle
        && head
            .get(word_start..)
            .is_some_and(|w| w.eq_ignore_ascii_case("around"))
    {
        f.span.start -= before.len() - word_start;
        f.modifier = f.modifier.or(Some(Mod::Approx));
    }
}

fn next_word_start(text: &str, from: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = from;
    while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
        i += 1;
    }
    if i == from {
        i += 1;
    }
    while i < bytes.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i
}
