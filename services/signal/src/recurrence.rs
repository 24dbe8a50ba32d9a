//! When a scheduled meeting happens: local start times in an IANA time zone
//! (chrono-tz), half-hour steps, and series expanded with RFC 5545 `RRULE`
//! semantics by the `rrule` crate in the meeting's own zone, so a weekly 09:00
//! Europe/Berlin meeting stays at 09:00 local across daylight-saving changes
//! and a monthly meeting on the 31st skips months without one.
//!
//! Everything here is pure: the schedule module stores and lists, this module
//! computes.

use std::collections::HashMap;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike,
};
use chrono_tz::Tz;
use rrule::{NWeekday, RRule};
use yunhui_proto::schedule::{Frequency, OccurrenceException, Recurrence, Weekday};

use crate::error::{Error, Result};

/// Format of local start times on the wire.
pub const LOCAL_FORMAT: &str = "%Y-%m-%dT%H:%M";
/// Format of local dates on the wire.
pub const DATE_FORMAT: &str = "%Y-%m-%d";
/// Shortest and longest meeting, in minutes.
pub const DURATION_RANGE: std::ops::RangeInclusive<u32> = 15..=1440;
/// How far after its start a series may end.
const MAX_SERIES_DAYS: i64 = 2 * 366;
/// More occurrences than a daily series of two years can have.
const MAX_OCCURRENCES: u16 = 1000;

/// A validated time plan: start, length, zone and repetition.
#[derive(Debug, Clone)]
pub struct Timing {
    /// The meeting's time zone.
    pub zone: Tz,
    /// Local start of the meeting (of the first occurrence of a series, as given).
    pub start: NaiveDateTime,
    /// Length in minutes.
    pub duration_minutes: u32,
    /// Repetition, for a series.
    pub recurrence: Option<Recurrence>,
}

/// One occurrence after exceptions are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// Local date the series places it on (the exception key).
    pub date: NaiveDate,
    /// Its start, in the meeting's zone.
    pub start: DateTime<Tz>,
    /// Its length in minutes.
    pub duration_minutes: u32,
    /// Topic of this occurrence when it differs from the meeting's.
    pub topic: Option<String>,
    /// Whether an exception changed it.
    pub modified: bool,
}

impl Slot {
    /// End of the occurrence.
    pub fn end(&self) -> DateTime<Tz> {
        self.start + Duration::minutes(i64::from(self.duration_minutes))
    }
}

/// Parses an IANA time zone name.
pub fn parse_zone(name: &str) -> Result<Tz> {
    name.parse::<Tz>().map_err(|_| {
        Error::InvalidInput(format!(
            "time_zone: {name:?} is not an IANA time zone such as Asia/Shanghai or Europe/Berlin"
        ))
    })
}

/// Parses a local start `YYYY-MM-DDTHH:MM` that lies on a full or half hour.
pub fn parse_start(field: &str, text: &str) -> Result<NaiveDateTime> {
    let start = NaiveDateTime::parse_from_str(text.trim(), LOCAL_FORMAT).map_err(|_| {
        Error::InvalidInput(format!(
            "{field}: {text:?} is not a local time of the form 2026-12-01T09:30"
        ))
    })?;
    if start.minute() % 30 != 0 {
        return Err(Error::InvalidInput(format!(
            "{field}: meetings start on the hour or half hour, {} is neither",
            start.format("%H:%M")
        )));
    }
    Ok(start)
}

/// Parses a local date `YYYY-MM-DD`.
pub fn parse_date(field: &str, text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), DATE_FORMAT).map_err(|_| {
        Error::InvalidInput(format!(
            "{field}: {text:?} is not a date of the form 2026-12-31"
        ))
    })
}

/// Checks a meeting length.
pub fn check_duration(field: &str, minutes: u32) -> Result<()> {
    if DURATION_RANGE.contains(&minutes) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{field}: a meeting lasts {} to {} minutes, not {minutes}",
            DURATION_RANGE.start(),
            DURATION_RANGE.end()
        )))
    }
}

/// The instant a local time names in `zone`: the earlier one when the clocks
/// go back, an error when they skip it.
pub fn localize(field: &str, zone: Tz, local: NaiveDateTime) -> Result<DateTime<Tz>> {
    zone.from_local_datetime(&local).earliest().ok_or_else(|| {
        Error::InvalidInput(format!(
            "{field}: {} does not exist in {} (the clocks skip it); pick another time",
            local.format(LOCAL_FORMAT),
            zone.name()
        ))
    })
}

impl Timing {
    /// Validates a time plan given on the wire.
    pub fn parse(
        start: &str,
        time_zone: &str,
        duration_minutes: u32,
        recurrence: Option<&Recurrence>,
    ) -> Result<Timing> {
        let zone = parse_zone(time_zone)?;
        let start = parse_start("start", start)?;
        localize("start", zone, start)?;
        check_duration("duration_minutes", duration_minutes)?;
        let recurrence = recurrence.map(|r| normalize(r, start)).transpose()?;
        let timing = Timing {
            zone,
            start,
            duration_minutes,
            recurrence,
        };
        if timing.series_starts()?.is_empty() {
            return Err(Error::InvalidInput(
                "recurrence: the rule gives no occurrence between the start and recurrence.until"
                    .into(),
            ));
        }
        Ok(timing)
    }

    /// Starts of every occurrence the rule gives, before exceptions.
    pub fn series_starts(&self) -> Result<Vec<DateTime<Tz>>> {
        let first = localize("start", self.zone, self.start)?;
        let Some(recurrence) = &self.recurrence else {
            return Ok(vec![first]);
        };
        let until_date = parse_date("recurrence.until", &recurrence.until)?;
        // RFC 5545: with a zoned DTSTART, UNTIL is given in UTC. The last
        // moment of the until date, local, bounds the series.
        let until_local =
            until_date.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default());
        let until = self
            .zone
            .from_local_datetime(&until_local)
            .latest()
            .unwrap_or_else(|| self.zone.from_utc_datetime(&until_local))
            .with_timezone(&rrule::Tz::UTC);
        let interval = u16::try_from(recurrence.interval).unwrap_or(1);
        let rule = match recurrence.frequency {
            Frequency::Daily => RRule::new(rrule::Frequency::Daily),
            Frequency::Weekly => RRule::new(rrule::Frequency::Weekly).by_weekday(
                recurrence
                    .weekdays
                    .iter()
                    .map(|d| NWeekday::Every(chrono_weekday(*d)))
                    .collect(),
            ),
            Frequency::Monthly => RRule::new(rrule::Frequency::Monthly)
                .by_month_day(vec![recurrence.day_of_month.unwrap_or(1) as i8]),
        }
        .interval(interval)
        .until(until);
        let dt_start = first.with_timezone(&rrule::Tz::Tz(self.zone));
        let set = rule
            .build(dt_start)
            .map_err(|e| Error::InvalidInput(format!("recurrence: {e}")))?;
        let result = set.all(MAX_OCCURRENCES);
        Ok(result
            .dates
            .into_iter()
            .map(|d| d.with_timezone(&self.zone))
            .collect())
    }

    /// Every occurrence with `exceptions` applied (cancelled ones dropped,
    /// changed ones moved), sorted by start.
    pub fn slots(&self, exceptions: &[OccurrenceException]) -> Result<Vec<Slot>> {
        let by_date: HashMap<&str, &OccurrenceException> =
            exceptions.iter().map(|e| (e.date.as_str(), e)).collect();
        let mut slots = Vec::new();
        for start in self.series_starts()? {
            let date = start.date_naive();
            let key = date.format(DATE_FORMAT).to_string();
            let mut slot = Slot {
                date,
                start,
                duration_minutes: self.duration_minutes,
                topic: None,
                modified: false,
            };
            if self.recurrence.is_some()
                && let Some(exception) = by_date.get(key.as_str())
            {
                if exception.cancelled {
                    continue;
                }
                if let Some(moved) = &exception.start {
                    let local = parse_start("start", moved)?;
                    slot.start = localize("start", self.zone, local)?;
                }
                if let Some(minutes) = exception.duration_minutes {
                    slot.duration_minutes = minutes;
                }
                slot.topic = exception.topic.clone();
                slot.modified = true;
            }
            slots.push(slot);
        }
        slots.sort_by_key(|s| s.start);
        Ok(slots)
    }

    /// Whether the series (before exceptions) places an occurrence on `date`.
    pub fn has_occurrence_on(&self, date: NaiveDate) -> Result<bool> {
        Ok(self.series_starts()?.iter().any(|s| s.date_naive() == date))
    }
}

/// Fills in defaults from the start and checks a repetition rule.
fn normalize(recurrence: &Recurrence, start: NaiveDateTime) -> Result<Recurrence> {
    let mut r = recurrence.clone();
    if !(1..=99).contains(&r.interval) {
        return Err(Error::InvalidInput(format!(
            "recurrence.interval: repeat every 1 to 99 days, weeks or months, not {}",
            r.interval
        )));
    }
    let until = parse_date("recurrence.until", &r.until)?;
    if until < start.date() {
        return Err(Error::InvalidInput(format!(
            "recurrence.until: the series ends ({until}) before it starts ({})",
            start.date()
        )));
    }
    if (until - start.date()).num_days() > MAX_SERIES_DAYS {
        return Err(Error::InvalidInput(
            "recurrence.until: a series may run for at most two years".into(),
        ));
    }
    r.until = until.format(DATE_FORMAT).to_string();
    match r.frequency {
        Frequency::Daily | Frequency::Monthly if !r.weekdays.is_empty() => {
            return Err(Error::InvalidInput(
                "recurrence.weekdays: only weekly series take weekdays".into(),
            ));
        }
        Frequency::Daily | Frequency::Weekly if r.day_of_month.is_some() => {
            return Err(Error::InvalidInput(
                "recurrence.day_of_month: only monthly series take a day of the month".into(),
            ));
        }
        Frequency::Weekly => {
            if r.weekdays.is_empty() {
                r.weekdays.push(proto_weekday(start.weekday()));
            }
            r.weekdays.sort();
            r.weekdays.dedup();
        }
        Frequency::Monthly => {
            let day = *r.day_of_month.get_or_insert(start.day() as u8);
            if !(1..=31).contains(&day) {
                return Err(Error::InvalidInput(format!(
                    "recurrence.day_of_month: {day} is not a day of a month (1 to 31)"
                )));
            }
        }
        Frequency::Daily => {}
    }
    Ok(r)
}

/// The wire weekday as chrono's.
pub fn chrono_weekday(day: Weekday) -> chrono::Weekday {
    match day {
        Weekday::Mon => chrono::Weekday::Mon,
        Weekday::Tue => chrono::Weekday::Tue,
        Weekday::Wed => chrono::Weekday::Wed,
        Weekday::Thu => chrono::Weekday::Thu,
        Weekday::Fri => chrono::Weekday::Fri,
        Weekday::Sat => chrono::Weekday::Sat,
        Weekday::Sun => chrono::Weekday::Sun,
    }
}

fn proto_weekday(day: chrono::Weekday) -> Weekday {
    match day {
        chrono::Weekday::Mon => Weekday::Mon,
        chrono::Weekday::Tue => Weekday::Tue,
        chrono::Weekday::Wed => Weekday::Wed,
        chrono::Weekday::Thu => Weekday::Thu,
        chrono::Weekday::Fri => Weekday::Fri,
        chrono::Weekday::Sat => Weekday::Sat,
        chrono::Weekday::Sun => Weekday::Sun,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(slots: &[Slot]) -> Vec<String> {
        slots
            .iter()
            .map(|s| s.start.format("%Y-%m-%dT%H:%M%z").to_string())
            .collect()
    }

    fn weekly(days: Vec<Weekday>, until: &str) -> Recurrence {
        Recurrence {
            frequency: Frequency::Weekly,
            interval: 1,
            weekdays: days,
            day_of_month: None,
            until: until.into(),
        }
    }

    #[test]
    fn weekly_stays_at_local_time_across_dst() {
        // Berlin leaves summer time on 2027-10-31.
        let t = Timing::parse(
            "2027-10-20T09:00",
            "Europe/Berlin",
            60,
            Some(&weekly(vec![Weekday::Wed], "2027-11-10")),
        )
        .unwrap();
        assert_eq!(
            local(&t.slots(&[]).unwrap()),
            [
                "2027-10-20T09:00+0200",
                "2027-10-27T09:00+0200",
                "2027-11-03T09:00+0100",
                "2027-11-10T09:00+0100",
            ]
        );
    }

    #[test]
    fn monthly_on_the_31st_skips_short_months() {
        let t = Timing::parse(
            "2027-01-31T14:30",
            "Asia/Shanghai",
            30,
            Some(&Recurrence {
                frequency: Frequency::Monthly,
                interval: 1,
                weekdays: vec![],
                day_of_month: None,
                until: "2027-08-31".into(),
            }),
        )
        .unwrap();
        assert_eq!(
            local(&t.slots(&[]).unwrap()),
            [
                "2027-01-31T14:30+0800",
                "2027-03-31T14:30+0800",
                "2027-05-31T14:30+0800",
                "2027-07-31T14:30+0800",
                "2027-08-31T14:30+0800",
            ]
        );
    }

    #[test]
    fn exceptions_cancel_and_move() {
        let t = Timing::parse(
            "2027-03-02T10:00",
            "Asia/Shanghai",
            60,
            Some(&weekly(vec![Weekday::Tue, Weekday::Thu], "2027-03-11")),
        )
        .unwrap();
        let slots = t
            .slots(&[
                OccurrenceException {
                    date: "2027-03-04".into(),
                    cancelled: true,
                    start: None,
                    duration_minutes: None,
                    topic: None,
                },
                OccurrenceException {
                    date: "2027-03-09".into(),
                    cancelled: false,
                    start: Some("2027-03-09T15:30".into()),
                    duration_minutes: Some(90),
                    topic: Some("moved".into()),
                },
            ])
            .unwrap();
        assert_eq!(
            local(&slots),
            [
                "2027-03-02T10:00+0800",
                "2027-03-09T15:30+0800",
                "2027-03-11T10:00+0800",
            ]
        );
        assert!(slots[1].modified && slots[1].duration_minutes == 90);
    }

    #[test]
    fn bad_input_names_the_field() {
        let err = |r: Result<Timing>| r.unwrap_err().to_string();
        assert!(
            err(Timing::parse("2027-01-01T09:15", "Asia/Shanghai", 60, None)).starts_with("start:")
        );
        assert!(
            err(Timing::parse("2027-01-01T09:00", "Mars/Olympus", 60, None))
                .starts_with("time_zone:")
        );
        assert!(
            err(Timing::parse("2027-01-01T09:00", "UTC", 5, None)).starts_with("duration_minutes:")
        );
        // 02:30 does not exist in Berlin on the night summer time begins.
        assert!(
            err(Timing::parse("2027-03-28T02:30", "Europe/Berlin", 60, None))
                .contains("does not exist")
        );
        assert!(
            err(Timing::parse(
                "2027-01-05T09:00",
                "UTC",
                60,
                Some(&weekly(vec![], "2027-01-04"))
            ))
            .starts_with("recurrence.until:")
        );
    }
}
