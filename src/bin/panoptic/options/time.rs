//! Times on the command line and in dashboard URLs: `7d` ago, a date, or
//! RFC 3339.

use chrono::{DateTime, Duration, DurationRound, NaiveDate, Utc};

/// `7d`, `12h`, `30m`, `2w` (ago), a date, or an RFC 3339 time.
///
/// Days and weeks ago start on the hour (`30d` at 15:42 is 15:00 thirty
/// days ago): a range on the hour is read from rollups whole, while a
/// range starting mid-hour reads that hour's events from every collection
/// that has some, one read each (seconds at two thousand users). Hours and
/// minutes ago, dates and RFC 3339 times are exact to the millisecond.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Some((number, unit)) = text
        .find(|c: char| !c.is_ascii_digit())
        .map(|i| text.split_at(i))
        .filter(|(n, _)| !n.is_empty())
    {
        let n: i64 = number
            .parse()
            .map_err(|_| format!("bad number in `{text}`"))?;
        let (span, on_the_hour) = match unit {
            "d" => (Some(Duration::days(n)), true),
            "h" => (Some(Duration::hours(n)), false),
            "m" => (Some(Duration::minutes(n)), false),
            "w" => (Some(Duration::weeks(n)), true),
            _ => (None, false),
        };
        if let Some(span) = span {
            let ago = Utc::now() - span;
            return Ok(match on_the_hour {
                true => ago
                    .duration_trunc(Duration::hours(1))
                    .map_err(|e| format!("`{text}`: {e}"))?,
                false => ago,
            });
        }
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).expect("midnight").and_utc());
    }
    Err(format!(
        "cannot read `{text}` as a time: use 7d, 12h, 30m, 2w, 2026-11-01 or 2026-11-01T08:00:00Z"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_dates_and_rfc3339() {
        let ago = Utc::now() - parse_time("2d").unwrap();
        assert!(
            ago >= Duration::days(2) && ago < Duration::days(2) + Duration::hours(1),
            "{ago}"
        );
        let since = parse_time("2w").unwrap();
        assert_eq!(
            since.timestamp() % 3_600,
            0,
            "days and weeks start on the hour"
        );
        let ago = Utc::now() - parse_time("90m").unwrap();
        assert!(
            (ago - Duration::minutes(90)).num_seconds().abs() < 5,
            "{ago}"
        );
        assert_eq!(
            parse_time("2026-11-01").unwrap().to_rfc3339(),
            "2026-11-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_time("2026-11-01T08:00:00+01:00")
                .unwrap()
                .to_rfc3339(),
            "2026-11-01T07:00:00+00:00"
        );
        assert!(parse_time("last tuesday").is_err());
        assert!(parse_time("3y").is_err());
    }
}
