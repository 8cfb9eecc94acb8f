//! Business hours: a pod's time zone, its weekly opening hours and its holidays, and
//! which urgencies' clocks follow them. Pure: every instant is passed in, and the
//! calendar is read in the pod's zone (chrono-tz), so a daylight-saving change moves
//! the hours with the wall clock the pod's team keeps.
//!
//! Local times that do not exist (the hour skipped in spring) stand for the first
//! instant after the gap; local times that happen twice (the hour repeated in autumn)
//! stand for the earlier one.

use super::{Ts, Urgency};
use chrono::{Datelike, LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use std::collections::BTreeSet;

/// Minutes from local midnight, `0..=1440` (1440 is the next midnight: `24:00`).
pub type Minute = u32;

/// How many days ahead a search for open time looks before it gives up (a calendar
/// with open hours always finds some well before this).
const HORIZON_DAYS: i64 = 3 * 366;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hours {
    pub tz: Tz,
    /// Monday first: the local opening and closing minute of each weekday; `None` closed.
    pub week: [Option<(Minute, Minute)>; 7],
    /// Local dates on which the pod is closed all day.
    pub holidays: BTreeSet<NaiveDate>,
    /// Per urgency (sev1 first): whether its clocks count only open time.
    pub follow: [bool; 4],
}

impl Hours {
    /// Hours in `tz`, open `week` (Monday first) except on `holidays`. Sev1 stays 24/7,
    /// the others follow the hours ([`Hours::follow`] says otherwise). An error when
    /// no day is open, or a day closes before it opens.
    pub fn new(
        tz: Tz,
        week: [Option<(Minute, Minute)>; 7],
        holidays: BTreeSet<NaiveDate>,
    ) -> Result<Hours, String> {
        for (i, day) in week.iter().enumerate() {
            if let Some((open, close)) = *day
                && (open >= close || close > 1440)
            {
                return Err(format!(
                    "{} closes ({}) before it opens ({}); write the opening time first, like \"09:00\" and \"17:00\"",
                    WEEKDAYS[i],
                    clock(close),
                    clock(open)
                ));
            }
        }
        if week.iter().all(Option::is_none) {
            return Err(
                "no day of the week is open; name at least one, like weekdays = \"mon-fri\"".into(),
            );
        }
        Ok(Hours {
            tz,
            week,
            holidays,
            follow: [false, true, true, true],
        })
    }

    pub fn follows(&self, u: Urgency) -> bool {
        self.follow[u as usize]
    }

    /// The open stretch of a local date, in UTC: `None` on a closed day or a holiday.
    fn day(&self, date: NaiveDate) -> Option<(Ts, Ts)> {
        if self.holidays.contains(&date) {
            return None;
        }
        let (open, close) = self.week[date.weekday().num_days_from_monday() as usize]?;
        let (a, b) = (self.instant(date, open), self.instant(date, close));
        (a < b).then_some((a, b))
    }

    /// The instant a local date and minute stands for (see the module's note on DST).
    fn instant(&self, date: NaiveDate, minute: Minute) -> Ts {
        let local = date.and_hms_opt(0, 0, 0).expect("midnight exists")
            + chrono::Duration::minutes(i64::from(minute));
        let at = |l: &NaiveDateTime| match self.tz.from_local_datetime(l) {
            LocalResult::Single(d) | LocalResult::Ambiguous(d, _) => Some(d.timestamp_micros()),
            LocalResult::None => None,
        };
        if let Some(us) = at(&local) {
            return Ts(us);
        }
        // In a gap: the first local minute after it.
        (1..=24 * 60)
            .find_map(|m| at(&(local + chrono::Duration::minutes(m))))
            .map_or(Ts(local.and_utc().timestamp_micros()), Ts)
    }

    fn local_date(&self, at: Ts) -> NaiveDate {
        at.to_datetime().with_timezone(&self.tz).date_naive()
    }

    /// Calls `f` with each open stretch from `from` on, in order, the first clipped to
    /// start at `from`, until `f` returns false or the horizon is reached.
    pub fn each_open(&self, from: Ts, mut f: impl FnMut(Ts, Ts) -> bool) {
        let mut date = self.local_date(from);
        // The previous local date's stretch can still be under way only if it ran past
        // midnight in UTC terms; it cannot in local terms, but start a day early so that
        // no zone's oddity skips one.
        date = date.pred_opt().unwrap_or(date);
        for _ in 0..HORIZON_DAYS {
            if let Some((a, b)) = self.day(date)
                && b > from
                && !f(a.max(from), b)
            {
                return;
            }
            match date.succ_opt() {
                Some(d) => date = d,
                None => return,
            }
        }
    }

    pub fn is_open(&self, at: Ts) -> bool {
        self.day(self.local_date(at))
            .is_some_and(|(a, b)| a <= at && at < b)
    }

    /// When the pod next opens at or after `at` (`at` itself while it is open).
    pub fn next_open(&self, at: Ts) -> Option<Ts> {
        let mut found = None;
        self.each_open(at, |a, _| {
            found = Some(a);
            false
        });
        found
    }

    /// `Mon 09:00`: an instant as the pod's team reads it.
    pub fn local_label(&self, at: Ts) -> String {
        at.to_datetime()
            .with_timezone(&self.tz)
            .format("%a %H:%M")
            .to_string()
    }

    /// Microseconds of open time within `[from, to)`.
    pub fn open_micros(&self, from: Ts, to: Ts) -> i64 {
        let mut sum = 0;
        if to <= from {
            return 0;
        }
        self.each_open(from, |a, b| {
            if a >= to {
                return false;
            }
            sum += b.min(to).0 - a.0;
            true
        });
        sum
    }

    /// Whole seconds of open time within `[from, to)`.
    pub fn open_secs(&self, from: Ts, to: Ts) -> i64 {
        self.open_micros(from, to) / 1_000_000
    }

    /// The earliest instant by which `secs` seconds of open time since `from` are used
    /// up (`from` itself for none); `None` past the horizon.
    pub fn add(&self, from: Ts, secs: i64) -> Option<Ts> {
        let mut left = secs.max(0).saturating_mul(1_000_000);
        if left == 0 {
            return Some(from);
        }
        let mut due = None;
        self.each_open(from, |a, b| {
            if b.0 - a.0 >= left {
                due = Some(Ts(a.0 + left));
                return false;
            }
            left -= b.0 - a.0;
            true
        });
        due
    }
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `09:00` for a minute of the day.
pub fn clock(m: Minute) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// Reads `09:00` (`00:00` to `24:00`).
pub fn parse_clock(text: &str) -> Option<Minute> {
    let (h, m) = text.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    let minute = h * 60 + m;
    (m < 60 && minute <= 1440).then_some(minute)
}

/// Reads a weekday (`mon`, `Monday`): its index, Monday 0.
pub fn parse_weekday(text: &str) -> Option<usize> {
    let t = text.trim().to_lowercase();
    WEEKDAYS
        .iter()
        .position(|d| t.len() >= 3 && chrono_name(d).starts_with(&t))
}

fn chrono_name(short: &str) -> &'static str {
    match short {
        "mon" => "monday",
        "tue" => "tuesday",
        "wed" => "wednesday",
        "thu" => "thursday",
        "fri" => "friday",
        "sat" => "saturday",
        _ => "sunday",
    }
}

/// Reads the days a pod is open: `mon-fri`, `mon,wed,fri`, `sun-thu`, `mon-fri,sat`.
pub fn parse_weekdays(text: &str) -> Option<[bool; 7]> {
    let mut days = [false; 7];
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (parse_weekday(a)?, parse_weekday(b)?);
                let mut d = a;
                loop {
                    days[d] = true;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days[parse_weekday(part)?] = true,
        }
    }
    days.iter().any(|d| *d).then_some(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_and_weekdays_read_as_written() {
        assert_eq!(parse_clock("09:00"), Some(540));
        assert_eq!(parse_clock("24:00"), Some(1440));
        for bad in ["9", "25:00", "09:60", "9:5", "x:00", "24:01"] {
            assert_eq!(parse_clock(bad), None, "{bad}");
        }
        let d = parse_weekdays("mon-fri").unwrap();
        assert_eq!(d, [true, true, true, true, true, false, false]);
        let d = parse_weekdays("sun-tue, thu").unwrap();
        assert_eq!(d, [true, true, false, true, false, false, true]);
        assert_eq!(parse_weekday("Tuesday"), Some(1));
        assert_eq!(parse_weekdays("mon-fry"), None);
        assert_eq!(parse_weekdays(""), None);
    }
}
