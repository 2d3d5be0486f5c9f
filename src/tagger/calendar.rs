//! Calendar values after resolution: their TIMEX3 spelling and the interval of days they denote.

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

use super::value::Season;
use super::{Granularity, Mod};

/// A resolved calendar value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cal {
    /// One day.
    Day(NaiveDate),
    /// ISO year and week.
    Week(i32, u32),
    /// The weekend of an ISO week.
    Weekend(i32, u32),
    /// Year and month.
    Month(i32, u32),
    /// Year and quarter.
    Quarter(i32, u32),
    /// Year and half.
    Half(i32, u32),
    /// Year and season.
    Season(i32, Season),
    /// A year.
    Year(i32),
    /// A decade, by its first three digits.
    Decade(i32),
    /// A century, by its first two digits.
    Century(i32),
}

/// Last day of a month.
pub fn month_end(year: i32, month: u32) -> Option<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    first.checked_add_months(Months::new(1))?.pred_opt()
}

/// The month `n` months after (year, month).
pub fn add_months(year: i32, month: u32, n: i32) -> (i32, u32) {
    let total = year * 12 + (month as i32 - 1) + n;
    (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32)
}

fn ymd(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

/// A year as TIMEX3 writes it: four digits, `BC` before the years before Christ ("BC0480").
fn year4(y: i32) -> String {
    if y < 0 {
        format!("BC{:04}", -y)
    } else {
        format!("{y:04}")
    }
}

impl Cal {
    /// TIMEX3 value.
    pub fn value(&self) -> String {
        match *self {
            Cal::Day(d) => format!("{}-{:02}-{:02}", year4(d.year()), d.month(), d.day()),
            Cal::Week(y, w) => format!("{}-W{w:02}", year4(y)),
            Cal::Weekend(y, w) => format!("{}-W{w:02}-WE", year4(y)),
            Cal::Month(y, m) => format!("{}-{m:02}", year4(y)),
            Cal::Quarter(y, q) => format!("{}-Q{q}", year4(y)),
            Cal::Half(y, h) => format!("{}-H{h}", year4(y)),
            Cal::Season(y, s) => format!("{}-{}", year4(y), s.code()),
            Cal::Year(y) => year4(y),
            Cal::Decade(d) => format!("{d:03}"),
            Cal::Century(c) => format!("{c:02}"),
        }
    }

    /// Precision.
    pub fn granularity(&self) -> Granularity {
        match self {
            Cal::Day(_) => Granularity::Day,
            Cal::Week(..) | Cal::Weekend(..) => Granularity::Week,
            Cal::Month(..) => Granularity::Month,
            Cal::Quarter(..) => Granularity::Quarter,
            Cal::Half(..) => Granularity::Half,
            Cal::Season(..) => Granularity::Season,
            Cal::Year(_) => Granularity::Year,
            Cal::Decade(_) => Granularity::Decade,
            Cal::Century(_) => Granularity::Century,
        }
    }

    /// Inclusive interval of days.
    pub fn interval(&self) -> Option<(NaiveDate, NaiveDate)> {
        match *self {
            Cal::Day(d) => Some((d, d)),
            Cal::Week(y, w) => {
                let s = NaiveDate::from_isoywd_opt(y, w, Weekday::Mon)?;
                Some((s, s.checked_add_days(Days::new(6))?))
            }
            Cal::Weekend(y, w) => {
                let s = NaiveDate::from_isoywd_opt(y, w, Weekday::Sat)?;
                Some((s, s.checked_add_days(Days::new(1))?))
            }
            Cal::Month(y, m) => Some((ymd(y, m, 1)?, month_end(y, m)?)),
            Cal::Quarter(y, q) => Some((ymd(y, q * 3 - 2, 1)?, month_end(y, q * 3)?)),
            Cal::Half(y, h) => Some((ymd(y, h * 6 - 5, 1)?, month_end(y, h * 6)?)),
            Cal::Season(y, s) => {
                let first = s.first_month();
                let (ey, em) = add_months(y, first, 2);
                Some((ymd(y, first, 1)?, month_end(ey, em)?))
            }
            Cal::Year(y) => Some((ymd(y, 1, 1)?, ymd(y, 12, 31)?)),
            Cal::Decade(d) => Some((ymd(d * 10, 1, 1)?, ymd(d * 10 + 9, 12, 31)?)),
            Cal::Century(c) => Some((ymd(c * 100, 1, 1)?, ymd(c * 100 + 99, 12, 31)?)),
        }
    }
}

/// Narrows an interval by a TIMEX3 mod: START, MID and END take the first, middle and last
/// third of the interval (by days, rounded to whole days); other mods leave it as it is.
pub fn apply_mod(
    (start, end): (NaiveDate, NaiveDate),
    modifier: Option<Mod>,
) -> (NaiveDate, NaiveDate) {
    if modifier.is_none() {
        return (start, end);
    }
    // Whole months divisible in three (years, halves, quarters, seasons): split on months.
    let months = (end.year() - start.year()) * 12 + end.month() as i32 - start.month() as i32 + 1;
    let whole = start.day() == 1 && month_end(end.year(), end.month()) == Some(end);
    if whole && months >= 3 && months % 3 == 0 {
        let third = months / 3;
        let first = |n: i32| {
            let (y, m) = add_months(start.year(), start.month(), n);
            NaiveDate::from_ymd_opt(y, m, 1)
        };
        let last = |n: i32| {
            let (y, m) = add_months(start.year(), start.month(), n);
            month_end(y, m)
        };
        let narrowed = match modifier {
            Some(Mod::Start) => first(0).zip(last(third - 1)),
            Some(Mod::Mid) => first(third).zip(last(2 * third - 1)),
            Some(Mod::End) => first(2 * third).zip(last(months - 1)),
            _ => None,
        };
        return narrowed.unwrap_or((start, end));
    }
    let days = (end - start).num_days() + 1;
    if days < 3 {
        return (start, end);
    }
    let third = days / 3;
    let at = |n: i64| start.checked_add_days(Days::new(n as u64)).unwrap_or(end);
    match modifier {
        Some(Mod::Start) => (start, at(third - 1)),
        Some(Mod::Mid) => (at(third), at(days - third - 1)),
        Some(Mod::End) => (at(days - third), end),
        _ => (start, end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_of_year_is_its_last_third() {
        let y = Cal::Year(2019).interval().unwrap();
        let (s, e) = apply_mod(y, Some(Mod::End));
        assert_eq!(
            (s.to_string(), e.to_string()),
            ("2019-09-01".into(), "2019-12-31".into())
        );
    }

    #[test]
    fn values_and_intervals() {
        assert_eq!(Cal::Week(2019, 50).value(), "2019-W50");
        let (s, e) = Cal::Week(2019, 50).interval().unwrap();
        assert_eq!(
            (s.to_string(), e.to_string()),
            ("2019-12-09".into(), "2019-12-15".into())
        );
        let (s, e) = Cal::Season(2019, Season::Winter).interval().unwrap();
        assert_eq!(
            (s.to_string(), e.to_string()),
            ("2019-12-01".into(), "2020-02-29".into())
        );
        assert_eq!(Cal::Decade(199).value(), "199");
        assert_eq!(Cal::Month(-480, 9).value(), "BC0480-09");
        assert_eq!(add_months(2019, 12, 1), (2020, 1));
        assert_eq!(add_months(2019, 1, -1), (2018, 12));
    }
}
