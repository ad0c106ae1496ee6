//! Times in query parameters, read exactly as the OpenAPI document's
//! pattern writes them (`sandrun_api::constraints::utc_time_pattern`): a
//! time the pattern allows is read, any other is refused. A general RFC
//! 3339 parser would take some the pattern refuses, or the reverse.

use std::sync::LazyLock;

use regex::Regex;

static PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&sandrun_api::constraints::utc_time_pattern()).expect("the pattern compiles")
});

/// Milliseconds since the Unix epoch, for a time the pattern matches.
pub fn parse_millis(text: &str) -> Option<i64> {
    if !PATTERN.is_match(text) {
        return None;
    }
    // The pattern fixes every position: `YYYY-MM-DD?HH:MM:SS[.fff…][zone]`.
    let number = |at: std::ops::Range<usize>| text[at].parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let fraction = text[19..]
        .strip_prefix('.')
        .map(|rest| rest.bytes().take_while(u8::is_ascii_digit));
    let millis = fraction.map_or(0, |digits| {
        digits
            .chain(std::iter::repeat(b'0'))
            .take(3)
            .fold(0, |n, d| n * 10 + i64::from(d - b'0'))
    });
    let seconds = days_since_epoch(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some(seconds * 1000 + millis)
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar
/// (the civil-from-days inverse of Howard Hinnant's date algorithms).
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
