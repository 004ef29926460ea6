//! Fixed windows aligned to the epoch: the one counting rule every limiter follows.

use std::time::Duration;

use crate::clock::Timestamp;

use super::{RateLimitInfo, Window};

/// The counters of one subject (a key, a client address): one `(period, window index, count)`
/// per window of its plan.
///
/// ```
/// use keygate::{clock::Timestamp, limit::{Counters, RatePlan}};
///
/// // A limiter keeping its counts elsewhere: 100 requests already made this minute.
/// let plan = RatePlan::new("free").per_minute(100);
/// let now = Timestamp::from_unix_seconds(1_800_000_030);
/// let mut counters = Counters::at(plan.windows(), now, &[100]);
/// let decision = counters.decide(plan.windows(), now, true).unwrap();
/// assert!(!decision.allowed);
/// assert_eq!(decision.info.reset, Timestamp::from_unix_seconds(1_800_000_060));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters(Vec<(i64, i64, u64)>);

/// The outcome of one check: whether the request may pass, and the figures to report.
///
/// ```
/// use keygate::{clock::Timestamp, limit::{Counters, Decision, RatePlan}};
///
/// let plan = RatePlan::new("free").per_minute(100).per_hour(1_000);
/// let now = Timestamp::from_unix_seconds(1_800_000_000);
/// let Some(Decision { allowed, info }) = Counters::default().decide(plan.windows(), now, true) else {
///     unreachable!("a plan with windows always decides");
/// };
/// assert!(allowed);
/// assert_eq!((info.limit, info.remaining), (100, 99)); // the window with the fewest left
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request passes.
    pub allowed: bool,
    /// Limit, remaining, reset and (when refused) retry-after.
    pub info: RateLimitInfo,
}

fn period_ms(w: &Window) -> i64 {
    w.period_ms()
}

impl Counters {
    /// The counters of a subject that has made `counts[i]` requests in the current window of
    /// `windows[i]` at `now`: for a limiter that keeps its counts elsewhere (Redis) and decides
    /// with the same rule as the in-process one.
    pub fn at(windows: &[Window], now: Timestamp, counts: &[u64]) -> Self {
        let now_ms = now.unix_millis();
        Counters(
            windows
                .iter()
                .zip(counts.iter().copied().chain(std::iter::repeat(0)))
                .map(|(w, count)| {
                    let period = period_ms(w);
                    (period, now_ms.div_euclid(period), count)
                })
                .collect(),
        )
    }

    /// Whether every counter is from a window that has ended by `now`, so the counters can be
    /// dropped without changing any decision.
    pub fn is_stale(&self, now: Timestamp) -> bool {
        self.0.iter().all(|&(period, index, _)| index < now.unix_millis().div_euclid(period))
    }

    /// Decides a request at `now` against `windows`, counting it when it passes and `consume`
    /// is set. A refused request is not counted. `None` for a plan with no windows.
    ///
    /// Each window `w` counts the requests in `[k * w.period, (k + 1) * w.period)` since the
    /// epoch. A request passes when every window has room. The reported figures are those of
    /// the window with the fewest requests left (on a refusal, the full window that frees up
    /// last, which is also what `retry_after` waits for).
    pub fn decide(
        &mut self,
        windows: &[Window],
        now: Timestamp,
        consume: bool,
    ) -> Option<Decision> {
        self.decide_weighted(windows, now, 1, consume)
    }

    /// [`decide`](Self::decide) for a request that counts `cost` times (a weighted route): it
    /// passes when every window has room for all of it, and counts `cost` when it passes and
    /// `consume` is set. A cost of 0 always passes and counts nothing.
    ///
    /// ```
    /// use keygate::{clock::Timestamp, limit::{Counters, RatePlan}};
    ///
    /// let plan = RatePlan::new("free").per_minute(3);
    /// let now = Timestamp::from_unix_seconds(1_800_000_000);
    /// let mut counters = Counters::default();
    /// assert!(counters.decide_weighted(plan.windows(), now, 2, true).unwrap().allowed);
    /// // One left: a request of cost 2 is refused and counts nothing; one of cost 1 passes.
    /// assert!(!counters.decide_weighted(plan.windows(), now, 2, true).unwrap().allowed);
    /// assert_eq!(counters.decide_weighted(plan.windows(), now, 1, true).unwrap().info.remaining, 0);
    /// ```
    pub fn decide_weighted(
        &mut self,
        windows: &[Window],
        now: Timestamp,
        cost: u64,
        consume: bool,
    ) -> Option<Decision> {
        if windows.is_empty() {
            return None;
        }
        if self.0.len() != windows.len() {
            self.0 = vec![(1, i64::MIN, 0); windows.len()];
        }
        let now_ms = now.unix_millis();
        for (slot, w) in self.0.iter_mut().zip(windows) {
            let period = period_ms(w);
            // Within the window a slot counts (most requests), no division: the window starts
            // at `index * period`.
            let current = slot.0 == period
                && slot
                    .1
                    .checked_mul(period)
                    .and_then(|start| now_ms.checked_sub(start))
                    .is_some_and(|d| (0..period).contains(&d));
            if !current {
                let index = now_ms.div_euclid(period);
                if slot.0 != period || slot.1 != index {
                    *slot = (period, index, 0);
                }
            }
        }
        let reset_of = |index: i64, w: &Window| {
            Timestamp::from_unix_millis(index.saturating_add(1).saturating_mul(period_ms(w)))
        };
        // A status (nothing consumed) asks whether one more request would pass.
        let need = if consume { cost } else { cost.max(1) };
        let fits = |count: u64, w: &Window| count.saturating_add(need) <= w.limit() || need == 0;
        let allowed = self.0.iter().zip(windows).all(|(&(_, _, count), w)| fits(count, w));
        if !allowed {
            let (index, w) = self
                .0
                .iter()
                .zip(windows)
                .filter(|&(&(_, _, count), w)| !fits(count, w))
                .map(|(&(_, index, _), w)| (index, w))
                .max_by_key(|&(index, w)| reset_of(index, w))?;
            let reset = reset_of(index, w);
            let wait = reset.duration_since(now).max(Duration::from_millis(1));
            let info = RateLimitInfo {
                limit: w.limit(),
                remaining: 0,
                reset,
                retry_after: Some(wait),
                window: w.period(),
            };
            return Some(Decision { allowed: false, info });
        }
        if consume {
            for slot in &mut self.0 {
                slot.2 = slot.2.saturating_add(cost);
            }
        }
        let (&(_, index, count), w) =
            self.0.iter().zip(windows).min_by_key(|&(&(_, _, count), w)| {
                (w.limit().saturating_sub(count), std::cmp::Reverse(w.period()))
            })?;
        let info = RateLimitInfo {
            limit: w.limit(),
            remaining: w.limit().saturating_sub(count),
            reset: reset_of(index, w),
            retry_after: None,
            window: w.period(),
        };
        Some(Decision { allowed: true, info })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    /// The shortcut that keeps a window's counter without a division agrees with the division
    /// at the far ends of time too, where a window's start does not fit in milliseconds.
    #[test]
    fn windows_at_the_ends_of_time_start_where_the_division_says() {
        let windows = [Window::new(1, Duration::from_secs(1))];
        for (first, second) in [(i64::MIN + 100, i64::MIN + 900), (i64::MAX - 900, i64::MAX)] {
            let mut c = Counters::default();
            assert!(c.decide(&windows, at(first), true).unwrap().allowed);
            let same = first.div_euclid(1000) == second.div_euclid(1000);
            assert_eq!(
                c.decide(&windows, at(second), true).unwrap().allowed,
                !same,
                "{first} {second}"
            );
        }
    }

    #[test]
    fn a_burst_fills_the_window_then_waits_for_its_end() {
        let windows = [Window::new(3, Duration::from_secs(60))];
        let mut c = Counters::default();
        for left in [2, 1, 0] {
            let d = c.decide(&windows, at(60_000 + 10), true).unwrap();
            assert!(d.allowed);
            assert_eq!(d.info.remaining, left);
            assert_eq!(d.info.reset, at(120_000));
        }
        let d = c.decide(&windows, at(60_000 + 500), true).unwrap();
        assert!(!d.allowed);
        assert_eq!(d.info.retry_after, Some(Duration::from_millis(59_500)));
        assert_eq!(d.info.retry_after_secs(), Some(60));
        // The last millisecond of the window is still refused; its end passes.
        assert!(!c.decide(&windows, at(119_999), true).unwrap().allowed);
        assert!(c.decide(&windows, at(120_000), true).unwrap().allowed);
    }

    #[test]
    fn both_windows_of_a_plan_apply() {
        let windows =
            [Window::new(2, Duration::from_secs(60)), Window::new(3, Duration::from_secs(3600))];
        let mut c = Counters::default();
        assert!(c.decide(&windows, at(0), true).unwrap().allowed);
        assert!(c.decide(&windows, at(1), true).unwrap().allowed);
        let d = c.decide(&windows, at(2), true).unwrap();
        assert!(!d.allowed, "the minute window is full");
        assert_eq!(d.info.limit, 2);
        assert_eq!(d.info.reset, at(60_000));
        assert!(c.decide(&windows, at(60_000), true).unwrap().allowed, "a new minute");
        let d = c.decide(&windows, at(60_001), true).unwrap();
        assert!(!d.allowed, "the hour window is full");
        assert_eq!(d.info.limit, 3);
        assert_eq!(d.info.reset, at(3_600_000));
        assert_eq!(d.info.retry_after, Some(Duration::from_millis(3_600_000 - 60_001)));
    }

    #[test]
    fn status_does_not_consume_and_refusals_do_not_count() {
        let windows = [Window::new(1, Duration::from_secs(1))];
        let mut c = Counters::default();
        for _ in 0..5 {
            assert!(c.decide(&windows, at(0), false).unwrap().allowed);
        }
        assert!(c.decide(&windows, at(0), true).unwrap().allowed);
        for _ in 0..5 {
            assert!(!c.decide(&windows, at(10), true).unwrap().allowed);
        }
        assert!(c.decide(&windows, at(1000), true).unwrap().allowed);
        assert!(!c.is_stale(at(1999)));
        assert!(c.is_stale(at(2000)));
    }

    #[test]
    fn headers_report_the_tightest_window() {
        let windows = [
            Window::new(500, Duration::from_secs(60)),
            Window::new(10_000, Duration::from_secs(3600)),
        ];
        let mut c = Counters::default();
        let d = c.decide(&windows, at(0), true).unwrap();
        assert_eq!((d.info.limit, d.info.remaining), (500, 499));
        assert!(Counters::default().decide(&[], at(0), true).is_none());
        let zero = [Window::new(0, Duration::from_secs(10))];
        let d = Counters::default().decide(&zero, at(1), true).unwrap();
        assert!(!d.allowed);
        assert_eq!(d.info.retry_after_secs(), Some(10));
    }
}
