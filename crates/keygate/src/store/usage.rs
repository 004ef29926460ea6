//! Request counts per UTC day and month, and the write-behind deltas that add to them.

use crate::clock::Timestamp;
use crate::format::KeyId;

use super::KeyRecord;

/// Request counts of one key for the current UTC day and month.
///
/// A counter belongs to the day (or month) it names: read it through
/// [`requests_today`](Self::requests_today) and [`requests_this_month`](Self::requests_this_month),
/// which answer 0 once that day or month is over.
///
/// ```
/// use keygate::{clock::Timestamp, store::Usage};
///
/// let noon = Timestamp::parse_rfc3339("2026-10-14T12:00:00Z")?;
/// let mut usage = Usage::default();
/// usage.add(3, noon);
/// assert_eq!(usage.requests_today(noon), 3);
/// let next_day = Timestamp::parse_rfc3339("2026-10-15T09:00:00Z")?;
/// assert_eq!((usage.requests_today(next_day), usage.requests_this_month(next_day)), (0, 3));
/// # Ok::<(), keygate::clock::TimestampError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Days since the Unix epoch (UTC) that [`today`](Self::today) counts.
    pub day: i64,
    /// Requests on [`day`](Self::day).
    pub today: u64,
    /// Months since year 0 (`year * 12 + month - 1`, UTC) that [`this_month`](Self::this_month) counts.
    pub month: i64,
    /// Requests in [`month`](Self::month).
    pub this_month: u64,
}

impl Usage {
    /// The UTC day number of `t`.
    pub fn day_of(t: Timestamp) -> i64 {
        t.unix_seconds().div_euclid(86_400)
    }

    /// The UTC month number of `t` (`year * 12 + month - 1`).
    pub fn month_of(t: Timestamp) -> i64 {
        let secs = t.unix_seconds();
        match time::OffsetDateTime::from_unix_timestamp(secs) {
            Ok(dt) => i64::from(dt.year()) * 12 + i64::from(u8::from(dt.month())) - 1,
            // Outside the calendar `time` supports: count by 30-day blocks rather than fail.
            Err(_) => secs.div_euclid(86_400 * 30),
        }
    }

    /// Requests on the UTC day of `now`.
    pub fn requests_today(&self, now: Timestamp) -> u64 {
        if self.day == Self::day_of(now) { self.today } else { 0 }
    }

    /// Requests in the UTC month of `now`.
    pub fn requests_this_month(&self, now: Timestamp) -> u64 {
        if self.month == Self::month_of(now) { self.this_month } else { 0 }
    }

    /// Adds `count` requests made at `at`, starting a new day or month where `at` is in one.
    pub fn add(&mut self, count: u64, at: Timestamp) {
        let (day, month) = (Self::day_of(at), Self::month_of(at));
        if day > self.day {
            self.day = day;
            self.today = 0;
        }
        if day == self.day {
            self.today = self.today.saturating_add(count);
        }
        if month > self.month {
            self.month = month;
            self.this_month = 0;
        }
        if month == self.month {
            self.this_month = self.this_month.saturating_add(count);
        }
    }
}

/// Requests of one key since the last flush, recorded write-behind.
///
/// ```
/// # use keygate::{clock::Timestamp, format::Environment, hash::KeyHash, store::{KeyRecord, Owner}};
/// # fn record(id: &str, at: i64) -> KeyRecord {
/// #     let id = id.parse().unwrap();
/// #     let owner = Owner::workspace("wks_1");
/// #     let created = Timestamp::from_unix_seconds(at);
/// #     KeyRecord::new(id, KeyHash::from_bytes([0; 32]), 1, "sk_live_Ab".into(), owner, Environment::Live, created)
/// # }
/// use keygate::store::UsageDelta;
///
/// let mut key = record("key_AbCdEfGh1234", 1_800_000_000);
/// let at = Timestamp::from_unix_seconds(1_800_000_500);
/// UsageDelta { id: key.id, count: 5, last_used: at }.apply(&mut key);
/// assert_eq!(key.last_used, Some(at));
/// assert_eq!(key.usage.requests_today(at), 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageDelta {
    /// The key.
    pub id: KeyId,
    /// How many requests it verified.
    pub count: u64,
    /// When the last of them was made.
    pub last_used: Timestamp,
}

impl UsageDelta {
    /// Applies the delta to `record`: the one definition every store follows. `last_used` only
    /// moves forward; counts land on the day and month of `last_used`.
    pub fn apply(&self, record: &mut KeyRecord) {
        record.last_used = Some(record.last_used.map_or(self.last_used, |t| t.max(self.last_used)));
        record.usage.add(self.count, self.last_used);
    }
}

/// The requests of one key on one UTC day, as the usage flush recorded them
/// ([`KeyStore::usage_days`](super::KeyStore::usage_days)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DayCount {
    /// The day: days since the epoch ([`Usage::day_of`]).
    pub day: i64,
    /// Requests counted on it.
    pub count: u64,
}
