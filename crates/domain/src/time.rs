use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Unix microseconds, the representation of every timestamp column.
pub type Timestamp = i64;

/// `Thu, 27 Nov 2025 00:10:11 GMT`, whole seconds, as the Clara docs show.
pub fn http_date(micros: Timestamp) -> String {
    let time = UNIX_EPOCH + Duration::from_micros(micros.max(0) as u64);
    httpdate_format(time)
}

fn httpdate_format(time: SystemTime) -> String {
    let datetime = ::time::OffsetDateTime::from(time);
    let format = ::time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    datetime.format(&format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_docs() {
        // 2025-11-27T00:10:11Z
        assert_eq!(http_date(1_764_202_211_000_000), "Thu, 27 Nov 2025 00:10:11 GMT");
    }
}
