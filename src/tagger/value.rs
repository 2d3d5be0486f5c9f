//! Underspecified temporal values, as produced by the rules before resolution.

use chrono::Weekday;

/// Calendar units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Seconds.
    Second,
    /// Minutes.
    Minute,
    /// Hours.
    Hour,
    /// Days.
    Day,
    /// Weeks.
    Week,
    /// Weekend.
    Weekend,
    /// Months.
    Month,
    /// Quarters.
    Quarter,
    /// Years.
    Year,
    /// Decades.
    Decade,
    /// Centuries.
    Century,
}

impl Unit {
    /// Letter used in ISO 8601 durations, and whether it sits after the `T`.
    pub fn duration_letter(self) -> (&'static str, bool) {
        match self {
            Unit::Second => ("S", true),
            Unit::Minute => ("M", true),
            Unit::Hour => ("H", true),
            Unit::Day => ("D", false),
            Unit::Week | Unit::Weekend => ("W", false),
            Unit::Month => ("M", false),
            Unit::Quarter => ("Q", false),
            Unit::Year => ("Y", false),
            Unit::Decade => ("DE", false),
            Unit::Century => ("CE", false),
        }
    }

    /// Parses a unit word ("days", "week", "yr").
    pub fn parse(word: &str) -> Option<Unit> {
        let w = word.to_ascii_lowercase();
        let w = w.trim_end_matches('s');
        Some(match w {
            "second" | "sec" => Unit::Second,
            "minute" | "min" => Unit::Minute,
            "hour" | "hr" => Unit::Hour,
            "day" => Unit::Day,
            "week" | "wk" => Unit::Week,
            "weekend" => Unit::Weekend,
            "month" => Unit::Month,
            "quarter" => Unit::Quarter,
            "year" | "yr" => Unit::Year,
            "decade" => Unit::Decade,
            "century" | "centurie" => Unit::Century,
            _ => return None,
        })
    }
}

/// Which year a partial date is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YearRef {
    /// Written out ("June 2018").
    Known(i32),
    /// Relative to the reference year: 0 this, -1 last, +1 next.
    Shift(i32),
    /// Not given: chosen from the reference time by tense ("Dec. 7", "in June").
    Auto,
    /// The year of the last date mentioned ("October of that year").
    Previous,
}

/// Which occurrence of a recurring day or period is meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// From the tense of the sentence.
    Auto,
    /// "last Monday": the latest before the reference.
    Last,
    /// "this Monday": the one in the reference's week.
    This,
    /// "next Monday": the first after the reference.
    Next,
}

/// Seasons, with their TIMEX3 codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Season {
    /// SP
    Spring,
    /// SU
    Summer,
    /// FA
    Fall,
    /// WI
    Winter,
}

impl Season {
    /// TIMEX3 code.
    pub fn code(self) -> &'static str {
        match self {
            Season::Spring => "SP",
            Season::Summer => "SU",
            Season::Fall => "FA",
            Season::Winter => "WI",
        }
    }
    /// First month of the season (winter starts in December of its year).
    pub fn first_month(self) -> u32 {
        match self {
            Season::Spring => 3,
            Season::Summer => 6,
            Season::Fall => 9,
            Season::Winter => 12,
        }
    }
}

/// A temporal value as written, before it is anchored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Partial {
    /// A calendar day.
    Day {
        /// Year.
        year: YearRef,
        /// Month 1-12.
        month: u32,
        /// Day 1-31.
        day: u32,
    },
    /// A calendar month.
    Month {
        /// Year.
        year: YearRef,
        /// Month 1-12.
        month: u32,
    },
    /// A calendar year.
    Year(YearRef),
    /// A weekday, whose week follows from `dir` and the tense.
    Weekday {
        /// The weekday.
        weekday: Weekday,
        /// Which one.
        dir: Dir,
    },
    /// A decade, by its first three digits ("199" for the 1990s).
    Decade(i32),
    /// A century, by its first two digits ("19" for the 20th century).
    Century(i32),
    /// A season.
    Season {
        /// Year.
        year: YearRef,
        /// Which.
        season: Season,
    },
    /// A quarter.
    Quarter {
        /// Year.
        year: YearRef,
        /// 1-4.
        quarter: u32,
    },
    /// A half year.
    Half {
        /// Year.
        year: YearRef,
        /// 1-2.
        half: u32,
    },
    /// The period of `unit` that contains the anchor shifted by `n` units: "last week",
    /// "yesterday", "two days later", "a year ago", "this month".
    Rel {
        /// Unit, which is also the precision of the value.
        unit: Unit,
        /// Shift in units.
        n: i32,
        /// Anchor on the last date mentioned instead of the reference time.
        from_previous: bool,
    },
    /// A time of day, optionally on a date.
    Time {
        /// Hour 0-23.
        hour: u32,
        /// Minute 0-59.
        minute: u32,
        /// UTC offset in minutes, when a zone was written.
        offset_minutes: Option<i32>,
        /// The day, when written ("on Monday"); else the reference day.
        date: Option<Box<Partial>>,
    },
    /// A part of a day ("Sunday night", "this morning"): MO, AF, EV, NI.
    PartOfDay {
        /// TIMEX3 code.
        code: &'static str,
        /// The day.
        date: Box<Partial>,
    },
    /// A named holiday ("Christmas", "Thanksgiving").
    Holiday {
        /// The name, as in [`super::rules::holiday_date`].
        name: String,
        /// Year: explicit, shifted (last/next as -100/+100), or by tense.
        year: YearRef,
    },
    /// The weekend nearest in the sentence's tense ("over the weekend").
    Weekend,
    /// A duration, already normalised ("P3D").
    Duration(String),
    /// A set, already normalised ("P1W").
    Set(String),
    /// A vague reference: PRESENT_REF, PAST_REF, FUTURE_REF.
    Ref(&'static str),
    /// A part of no particular day ("at night"): TIMEX3 TIME `XXXX-XX-XXT` + the code.
    AnyDayPart(&'static str),
    /// A day of the month under discussion ("on the 5th"): the month of the last date
    /// mentioned.
    DayOfMonth(u32),
}
