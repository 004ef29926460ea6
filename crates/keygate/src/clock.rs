//! Time as keygate sees it: a millisecond [`Timestamp`] and an injectable [`Clock`].
//!
//! Expiry, rotation grace periods and rate-limit windows all read the clock through the
//! [`Clock`] trait, so tests and benches can drive time by hand with a [`ManualClock`].
//!
//! ```
//! use std::time::Duration;
//! use keygate::clock::{Clock, ManualClock, Timestamp};
//!
//! let clock = ManualClock::new(Timestamp::parse_rfc3339("2026-10-14T00:00:00Z").unwrap());
//! clock.advance(Duration::from_secs(90));
//! assert_eq!(clock.now().to_rfc3339(), "2026-10-14T00:01:30Z");
//! ```

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time: milliseconds since the Unix epoch, UTC.
///
/// Serialized as an RFC 3339 string (`2026-10-14T00:00:00Z`), the form the management API uses.
///
/// ```
/// use std::time::Duration;
/// use keygate::clock::Timestamp;
///
/// let t: Timestamp = "2026-10-14T02:00:00+02:00".parse()?;
/// assert_eq!(t.to_rfc3339(), "2026-10-14T00:00:00Z");
/// assert_eq!(t.saturating_add(Duration::from_millis(1_500)).unix_seconds_ceil(), t.unix_seconds() + 2);
/// # Ok::<(), keygate::clock::TimestampError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// The text could not be read as an RFC 3339 timestamp.
///
/// ```
/// use keygate::clock::{Timestamp, TimestampError};
///
/// assert_eq!(Timestamp::parse_rfc3339("2026-10-14"), Err(TimestampError));
/// assert_eq!(Timestamp::parse_rfc3339("yesterday"), Err(TimestampError));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 timestamp (expected e.g. `2026-10-14T00:00:00Z`)")]
pub struct TimestampError;

impl Timestamp {
    /// The Unix epoch.
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);

    /// A timestamp `millis` milliseconds after the Unix epoch.
    pub const fn from_unix_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    /// A timestamp `secs` seconds after the Unix epoch.
    pub const fn from_unix_seconds(secs: i64) -> Self {
        Timestamp(secs.saturating_mul(1000))
    }

    /// Milliseconds since the Unix epoch.
    pub const fn unix_millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the Unix epoch, rounded down.
    pub const fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// Whole seconds since the Unix epoch, rounded up (a reset time that is never early).
    pub const fn unix_seconds_ceil(self) -> i64 {
        -((-self.0).div_euclid(1000))
    }

    /// This timestamp moved forward by `d`, saturating at the end of time.
    pub fn saturating_add(self, d: Duration) -> Self {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }

    /// This timestamp moved back by `d`, saturating at the start of time.
    pub fn saturating_sub(self, d: Duration) -> Self {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_sub(ms))
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }

    /// Reads an RFC 3339 timestamp such as `2026-10-14T00:00:00Z` or `2026-10-14T02:00:00+02:00`.
    ///
    /// # Errors
    /// [`TimestampError`] when the text is not RFC 3339 or lies outside the years 1 to 9999.
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimestampError> {
        // 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: an offset can carry a text of
        // the first or last day outside the years this timestamp can be written in again.
        const WRITABLE: std::ops::RangeInclusive<i128> = -62_135_596_800_000..=253_402_300_799_999;
        let t = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| TimestampError)?;
        let ms = t.unix_timestamp_nanos() / 1_000_000;
        if !WRITABLE.contains(&ms) {
            return Err(TimestampError);
        }
        i64::try_from(ms).map(Timestamp).map_err(|_| TimestampError)
    }

    /// Writes the timestamp as RFC 3339 in UTC, with milliseconds only when they are not zero.
    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        match OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
        {
            Some(text) => text,
            // Outside the years RFC 3339 can write: say so rather than panic.
            None => format!("@{}ms", self.0),
        }
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse_rfc3339(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

/// A source of the current time.
///
/// Implement it to take time from elsewhere; [`SystemClock`] and [`ManualClock`] cover most uses.
///
/// ```
/// use keygate::clock::{Clock, Timestamp};
///
/// /// A clock stuck at one instant.
/// #[derive(Debug)]
/// struct Frozen(Timestamp);
///
/// impl Clock for Frozen {
///     fn now(&self) -> Timestamp {
///         self.0
///     }
/// }
///
/// let clock: Box<dyn Clock> = Box::new(Frozen(Timestamp::from_unix_seconds(1_791_936_000)));
/// assert_eq!(clock.now().to_rfc3339(), "2026-10-14T00:00:00Z");
/// ```
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The operating system's wall clock.
///
/// ```
/// use keygate::clock::{Clock, SystemClock, Timestamp};
///
/// let now = SystemClock.now();
/// assert!(now > Timestamp::parse_rfc3339("2024-01-01T00:00:00Z").unwrap());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[inline]
    fn now(&self) -> Timestamp {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            Err(e) => Timestamp(-i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX)),
        }
    }
}

/// A clock that moves only when told to: for tests, benches and simulations.
///
/// Clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use keygate::clock::{Clock, ManualClock, Timestamp};
///
/// let clock = ManualClock::new(Timestamp::UNIX_EPOCH);
/// let shared = clock.clone();
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(shared.now(), Timestamp::from_unix_seconds(60));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Timestamp) -> Self {
        ManualClock(Arc::new(AtomicI64::new(start.0)))
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the clock to `t`.
    pub fn set(&self, t: Timestamp) {
        self.0.store(t.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    #[inline]
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        let t = Timestamp::parse_rfc3339("2026-10-14T00:00:00Z").unwrap();
        assert_eq!(t.unix_seconds(), 1_791_936_000);
        assert_eq!(t.to_rfc3339(), "2026-10-14T00:00:00Z");
        let offset = Timestamp::parse_rfc3339("2026-10-14T02:00:00+02:00").unwrap();
        assert_eq!(offset, t);
        let ms = Timestamp::from_unix_millis(t.unix_millis() + 250);
        assert_eq!(ms.to_rfc3339(), "2026-10-14T00:00:00.25Z");
    }

    #[test]
    fn bad_rfc3339_is_an_error() {
        for bad in ["", "2026-10-14", "2026-13-01T00:00:00Z", "yesterday", "2026-10-14 00:00:00"] {
            assert_eq!(Timestamp::parse_rfc3339(bad), Err(TimestampError), "{bad}");
        }
    }

    #[test]
    fn seconds_round_down_and_up() {
        let t = Timestamp::from_unix_millis(1_500);
        assert_eq!(t.unix_seconds(), 1);
        assert_eq!(t.unix_seconds_ceil(), 2);
        assert_eq!(Timestamp::from_unix_millis(2_000).unix_seconds_ceil(), 2);
        assert_eq!(Timestamp::from_unix_millis(-1).unix_seconds(), -1);
    }

    #[test]
    fn out_of_range_does_not_panic() {
        let far = Timestamp::from_unix_millis(i64::MAX);
        assert!(far.to_rfc3339().starts_with('@'));
        assert_eq!(far.saturating_add(Duration::from_secs(1)), far);
    }
}
