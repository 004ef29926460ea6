//! A key's credits: a balance each authenticated request spends, and an optional refill.

use std::fmt;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::clock::Timestamp;

/// The latest day of the month a monthly refill may fall on: every month has it.
pub const MAX_REFILL_DAY: u8 = 28;

/// When a balance is refilled: every UTC midnight, or on a day of every month (00:00 UTC).
///
/// ```
/// use keygate::store::RefillInterval;
///
/// assert_eq!(RefillInterval::monthly(15), Some(RefillInterval::Monthly { day: 15 }));
/// assert_eq!(RefillInterval::monthly(31), None); // not every month has it
/// assert_eq!(RefillInterval::Daily.as_str(), "daily");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefillInterval {
    /// At 00:00 UTC every day.
    Daily,
    /// At 00:00 UTC on `day` (1 to [`MAX_REFILL_DAY`]) of every month.
    Monthly {
        /// The day of the month.
        day: u8,
    },
}

impl RefillInterval {
    /// A monthly refill on `day`, if it is 1 to [`MAX_REFILL_DAY`].
    pub fn monthly(day: u8) -> Option<Self> {
        (1..=MAX_REFILL_DAY).contains(&day).then_some(RefillInterval::Monthly { day })
    }

    /// `"daily"` or `"monthly"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RefillInterval::Daily => "daily",
            RefillInterval::Monthly { .. } => "monthly",
        }
    }

    /// The first refill time strictly after `t`.
    ///
    /// ```
    /// use keygate::{clock::Timestamp, store::RefillInterval};
    ///
    /// let t = Timestamp::parse_rfc3339("2026-10-14T12:00:00Z")?;
    /// assert_eq!(RefillInterval::Daily.next_after(t).to_rfc3339(), "2026-10-15T00:00:00Z");
    /// let monthly = RefillInterval::monthly(14).unwrap();
    /// assert_eq!(monthly.next_after(t).to_rfc3339(), "2026-11-14T00:00:00Z");
    /// let first = RefillInterval::monthly(1).unwrap();
    /// assert_eq!(first.next_after(t).to_rfc3339(), "2026-11-01T00:00:00Z");
    /// # Ok::<(), keygate::clock::TimestampError>(())
    /// ```
    pub fn next_after(self, t: Timestamp) -> Timestamp {
        const DAY: i64 = 86_400;
        let secs = t.unix_seconds();
        match self {
            RefillInterval::Daily => Timestamp::from_unix_seconds(
                secs.div_euclid(DAY).saturating_add(1).saturating_mul(DAY),
            ),
            RefillInterval::Monthly { day } => {
                let month_day = |year: i32, month: time::Month| {
                    time::Date::from_calendar_date(year, month, day).ok().map(|d| {
                        Timestamp::from_unix_seconds(d.midnight().assume_utc().unix_timestamp())
                    })
                };
                let next = time::OffsetDateTime::from_unix_timestamp(secs).ok().and_then(|now| {
                    let this = month_day(now.year(), now.month())?;
                    if this > t {
                        return Some(this);
                    }
                    let year = if now.month() == time::Month::December {
                        now.year().checked_add(1)?
                    } else {
                        now.year()
                    };
                    month_day(year, now.month().next())
                });
                // Outside the calendar `time` supports: a month of 30 days rather than a panic.
                next.unwrap_or_else(|| t.saturating_add(Duration::from_secs(30 * DAY as u64)))
            }
        }
    }
}

/// A refill: at every [`interval`](Self::interval), the balance is set to
/// [`amount`](Self::amount) (not added to it).
///
/// Written as text `daily:AMOUNT`, `monthly:AMOUNT` (on the 1st) or `monthly@DAY:AMOUNT`.
///
/// ```
/// use keygate::store::{Refill, RefillInterval};
///
/// let refill: Refill = "monthly@15:1000".parse()?;
/// assert_eq!(refill, Refill { interval: RefillInterval::Monthly { day: 15 }, amount: 1000 });
/// assert_eq!("daily:50".parse::<Refill>()?.to_string(), "daily:50");
/// assert_eq!("monthly:9".parse::<Refill>()?.to_string(), "monthly:9");
/// assert!("weekly:5".parse::<Refill>().is_err());
/// # Ok::<(), keygate::store::RefillError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Refill {
    /// When.
    pub interval: RefillInterval,
    /// The balance after a refill.
    pub amount: u64,
}

/// The text is not a refill.
///
/// ```
/// use keygate::store::{Refill, RefillError};
///
/// assert_eq!("monthly@30:5".parse::<Refill>(), Err(RefillError));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a refill is `daily:AMOUNT`, `monthly:AMOUNT` or `monthly@DAY:AMOUNT` (day 1 to 28)")]
pub struct RefillError;

impl std::str::FromStr for Refill {
    type Err = RefillError;

    fn from_str(s: &str) -> Result<Self, RefillError> {
        let (interval, amount) = s.split_once(':').ok_or(RefillError)?;
        let amount = amount.parse::<u64>().map_err(|_| RefillError)?;
        let interval = match interval {
            "daily" => RefillInterval::Daily,
            "monthly" => RefillInterval::Monthly { day: 1 },
            other => {
                let day = other.strip_prefix("monthly@").ok_or(RefillError)?;
                RefillInterval::monthly(day.parse().map_err(|_| RefillError)?).ok_or(RefillError)?
            }
        };
        Ok(Refill { interval, amount })
    }
}

impl fmt::Display for Refill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.interval {
            RefillInterval::Daily => write!(f, "daily:{}", self.amount),
            RefillInterval::Monthly { day: 1 } => write!(f, "monthly:{}", self.amount),
            RefillInterval::Monthly { day } => write!(f, "monthly@{day}:{}", self.amount),
        }
    }
}

/// As JSON: `{"interval": "daily" | "monthly", "day": D (monthly only), "amount": N}`.
impl Serialize for Refill {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let day = match self.interval {
            RefillInterval::Daily => None,
            RefillInterval::Monthly { day } => Some(day),
        };
        let mut map = s.serialize_map(Some(if day.is_some() { 3 } else { 2 }))?;
        map.serialize_entry("interval", self.interval.as_str())?;
        if let Some(day) = day {
            map.serialize_entry("day", &day)?;
        }
        map.serialize_entry("amount", &self.amount)?;
        map.end()
    }
}

/// A key's credits: the balance left, and the refill that resets it.
///
/// A refill is lazy: the first spend after a refill time sets the balance to the refill's
/// amount, then spends. [`spend`](Self::spend) is the one definition every store follows,
/// inside the atomic step that reads the balance.
///
/// ```
/// use keygate::clock::Timestamp;
/// use keygate::store::{Credits, Refill, Spend};
///
/// let t = Timestamp::parse_rfc3339("2026-10-14T12:00:00Z")?;
/// let mut credits = Credits::new(1).refill("daily:5".parse()?, t);
/// assert_eq!(credits.spend(1, t), Spend::Spent { remaining: 0 });
/// let refused = credits.spend(1, t);
/// assert!(matches!(refused, Spend::Exhausted { refills_at: Some(at), .. } if at.to_rfc3339() == "2026-10-15T00:00:00Z"));
/// // After midnight the balance is set to 5 again, then spent.
/// let tomorrow = Timestamp::parse_rfc3339("2026-10-15T00:00:00Z")?;
/// assert_eq!(credits.spend(2, tomorrow), Spend::Spent { remaining: 3 });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Credits {
    /// The balance left.
    pub remaining: u64,
    /// The refill, if any.
    pub refill: Option<Refill>,
    /// When the refill is next due (set with [`refill`](Self::refill)).
    pub refills_at: Option<Timestamp>,
}

/// What [`Credits::spend`] and [`KeyStore::spend`](super::KeyStore::spend) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    /// The cost was spent; this is the balance left.
    Spent {
        /// The balance after the spend.
        remaining: u64,
    },
    /// The balance is below the cost: nothing was spent.
    Exhausted {
        /// The balance, untouched.
        remaining: u64,
        /// When the refill is next due, if the key has one.
        refills_at: Option<Timestamp>,
    },
    /// The key has no credits: it is not metered.
    Unlimited,
}

impl Credits {
    /// A balance of `remaining`, with no refill.
    pub fn new(remaining: u64) -> Self {
        Credits { remaining, refill: None, refills_at: None }
    }

    /// The same balance, refilled by `refill` from the first refill time after `now`.
    pub fn refill(mut self, refill: Refill, now: Timestamp) -> Self {
        self.refill = Some(refill);
        self.refills_at = Some(refill.interval.next_after(now));
        self
    }

    /// The balance as of `now`: the refill's amount when a refill is due, else
    /// [`remaining`](Self::remaining). Changes nothing.
    pub fn balance_at(&self, now: Timestamp) -> u64 {
        match (self.refill, self.refills_at) {
            (Some(refill), Some(at)) if at <= now => refill.amount,
            _ => self.remaining,
        }
    }

    /// When the refill after `now` is due, as of `now`: a refill already due counts as done.
    pub fn next_refill_at(&self, now: Timestamp) -> Option<Timestamp> {
        match (self.refill, self.refills_at) {
            (Some(refill), Some(at)) if at <= now => Some(refill.interval.next_after(now)),
            (Some(_), at) => at,
            _ => None,
        }
    }

    /// Applies a refill that is due at `now`, then spends `cost` if the balance covers it.
    pub fn spend(&mut self, cost: u64, now: Timestamp) -> Spend {
        if let (Some(refill), Some(at)) = (self.refill, self.refills_at)
            && at <= now
        {
            self.remaining = refill.amount;
            self.refills_at = Some(refill.interval.next_after(now));
        }
        match self.remaining.checked_sub(cost) {
            Some(left) => {
                self.remaining = left;
                Spend::Spent { remaining: left }
            }
            None => Spend::Exhausted { remaining: self.remaining, refills_at: self.refills_at },
        }
    }
}
