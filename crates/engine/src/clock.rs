//! Timestamps as the API shows them: RFC 3339, UTC, milliseconds (`2019-08-24T14:15:22.123Z`).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// Now, formatted for records and events.
pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

pub fn format(t: OffsetDateTime) -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    // Formatting a UTC date-time with fixed fields cannot fail for years 0..=9999.
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00.000Z"))
}

/// Now, to the microsecond: for records that must differ from one made a moment before.
pub fn now_micros() -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    OffsetDateTime::now_utc()
        .format(&fmt)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00.000000Z"))
}

/// Parses a timestamp written by [`format`] (or any RFC 3339 one).
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// Nanoseconds since the epoch, now.
pub fn now_ns() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos()) as i64
}

/// `YYYYMMDD-HHMMSS` in UTC for a time in nanoseconds since the epoch (conflict and trash names).
pub fn compact(ns: i64) -> String {
    let t =
        OffsetDateTime::from_unix_timestamp_nanos(ns as i128).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let fmt = format_description!("[year][month][day]-[hour][minute][second]");
    t.format(&fmt)
        .unwrap_or_else(|_| String::from("19700101-000000"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_millis_and_z() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_566_656_122_123_456_789).unwrap();
        assert_eq!(format(t), "2019-08-24T14:15:22.123Z");
        assert_eq!(
            parse("2019-08-24T14:15:22.123Z").unwrap().unix_timestamp(),
            1_566_656_122
        );
    }

    #[test]
    fn compact_names_sort_by_time() {
        assert_eq!(compact(1_566_656_122_000_000_000), "20190824-141522");
    }
}
