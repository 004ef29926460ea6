//! A key's balance in memory: spent with one compare-and-swap, refilled and changed under a
//! lock.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::clock::Timestamp;

use super::{Credits, Refill, Spend};

/// `refills_at` of a balance without a refill.
const NEVER: i64 = i64::MAX;

/// A key's credits. A spend reads when the refill is due and, before then, takes its cost off
/// the balance with one compare-and-swap: no lock. A refill that is due, and every change of
/// the credits ([`hold`](Self::hold)), happen under the cell's lock, so they never race each
/// other; a spend racing a change is accounted for when the change writes
/// ([`Held::set`]).
#[derive(Debug)]
pub(crate) struct CreditCell {
    remaining: AtomicU64,
    /// When the refill is next due, in milliseconds since the epoch; [`NEVER`] without one.
    refills_at: AtomicI64,
    /// The refill; its lock serializes refills and changes.
    refill: Mutex<Option<Refill>>,
}

/// A cell held for a change: its credits as read, which no refill or other change can alter
/// until [`set`](Self::set).
pub(crate) struct Held<'a> {
    cell: &'a CreditCell,
    refill: MutexGuard<'a, Option<Refill>>,
    read: Credits,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A refill is a plain value, written whole: a panic elsewhere cannot leave it half-written.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl CreditCell {
    pub(crate) fn new(credits: Credits) -> Self {
        CreditCell {
            remaining: AtomicU64::new(credits.remaining),
            refills_at: AtomicI64::new(credits.refills_at.map_or(NEVER, Timestamp::unix_millis)),
            refill: Mutex::new(credits.refill),
        }
    }

    /// The credits now.
    pub(crate) fn get(&self) -> Credits {
        self.hold().read
    }

    /// Holds the cell for a change.
    pub(crate) fn hold(&self) -> Held<'_> {
        let refill = lock(&self.refill);
        let at = self.refills_at.load(Ordering::Acquire);
        let read = Credits {
            remaining: self.remaining.load(Ordering::Acquire),
            refill: *refill,
            refills_at: (at != NEVER).then(|| Timestamp::from_unix_millis(at)),
        };
        Held { cell: self, refill, read }
    }

    /// What [`Credits::spend`] does, without a lock unless a refill is due.
    #[inline]
    pub(crate) fn spend(&self, cost: u64, now: Timestamp) -> Spend {
        let now_ms = now.unix_millis();
        loop {
            let at = self.refills_at.load(Ordering::Acquire);
            if at <= now_ms {
                self.refill_due(now);
                continue;
            }
            let balance = self.remaining.load(Ordering::Acquire);
            let Some(left) = balance.checked_sub(cost) else {
                let refills_at = (at != NEVER).then(|| Timestamp::from_unix_millis(at));
                return Spend::Exhausted { remaining: balance, refills_at };
            };
            if self
                .remaining
                .compare_exchange_weak(balance, left, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return Spend::Spent { remaining: left };
            }
        }
    }

    /// Applies the refill due at `now`, unless another thread already did.
    #[cold]
    fn refill_due(&self, now: Timestamp) {
        let refill = lock(&self.refill);
        if self.refills_at.load(Ordering::Acquire) > now.unix_millis() {
            return;
        }
        match *refill {
            Some(r) => {
                self.remaining.store(r.amount, Ordering::Release);
                let next = r.interval.next_after(now).unix_millis();
                self.refills_at.store(next, Ordering::Release);
            }
            None => self.refills_at.store(NEVER, Ordering::Release),
        }
    }
}

impl Held<'_> {
    /// The credits as read when the cell was held.
    pub(crate) fn read(&self) -> Credits {
        self.read
    }

    /// Writes `credits`. A spend made since the read (spends take no lock) is taken off the
    /// new balance, so it is never lost: the spend counts as made after the change. Returns
    /// what was spent since the read.
    pub(crate) fn set(mut self, credits: Credits) -> u64 {
        let mut current = self.cell.remaining.load(Ordering::Acquire);
        let spent_since = loop {
            // Only spends lower the balance while the cell is held.
            let spent_since = self.read.remaining.saturating_sub(current);
            let target = credits.remaining.saturating_sub(spent_since);
            match self.cell.remaining.compare_exchange_weak(
                current,
                target,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break spent_since,
                Err(seen) => current = seen,
            }
        };
        *self.refill = credits.refill;
        let at = credits.refills_at.map_or(NEVER, Timestamp::unix_millis);
        self.cell.refills_at.store(at, Ordering::Release);
        spent_since
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// Spends racing changes: every spend that passed is taken off, and the balance never goes
    /// below zero.
    #[test]
    fn no_spend_is_lost_to_a_racing_change() {
        let now = Timestamp::from_unix_seconds(1_800_000_000);
        for round in 0..200 {
            let cell = Arc::new(CreditCell::new(Credits::new(1_000)));
            let passed = Arc::new(AtomicUsize::new(0));
            let spenders: Vec<_> = (0..3)
                .map(|_| {
                    let (cell, passed) = (cell.clone(), passed.clone());
                    std::thread::spawn(move || {
                        for _ in 0..200 {
                            if matches!(cell.spend(1, now), Spend::Spent { .. }) {
                                passed.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    })
                })
                .collect();
            // A change that leaves the balance as read: whatever was spent meanwhile stays spent.
            for _ in 0..50 {
                let held = cell.hold();
                let read = held.read();
                let _ = held.set(read);
            }
            for s in spenders {
                s.join().unwrap();
            }
            let left = cell.get().remaining;
            assert_eq!(left as usize + passed.load(Ordering::SeqCst), 1_000, "round {round}");
        }
    }

    #[test]
    fn a_due_refill_sets_the_balance_once() {
        let start = Timestamp::from_unix_seconds(1_800_000_000);
        let refill: Refill = "daily:3".parse().unwrap();
        let cell = CreditCell::new(Credits::new(0).refill(refill, start));
        assert!(matches!(cell.spend(1, start), Spend::Exhausted { refills_at: Some(_), .. }));
        let due = cell.get().refills_at.unwrap();
        assert_eq!(cell.spend(1, due), Spend::Spent { remaining: 2 });
        assert_eq!(cell.spend(2, due), Spend::Spent { remaining: 0 });
        assert!(matches!(cell.spend(1, due), Spend::Exhausted { remaining: 0, .. }));
        assert!(cell.get().refills_at.unwrap() > due);
    }
}
