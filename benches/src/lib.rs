//! Fixtures for keygate's benchmarks: a gate with many keys, and a way to run its futures
//! without a runtime when they never wait (the in-memory and cached stores answer at once).

#![forbid(unsafe_code)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use keygate::Keygate;
use keygate::clock::{ManualClock, Timestamp};
use keygate::hash::Pepper;
use keygate::limit::{RatePlan, RatePlans};
use keygate::manage::NewKey;
use keygate::preset::Preset;
use keygate::store::{KeyKind, KeyStore, MemoryStore, Owner};

/// Runs a future that must complete without waiting: a verify answered from memory.
///
/// # Panics
/// If the future waits, which would mean the benchmark measures I/O it should not.
pub fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("a benchmarked call waited for I/O"),
    }
}

/// The pepper every fixture uses.
pub fn pepper() -> Pepper {
    Pepper::new(*b"benchmark pepper, 32 bytes long!").expect("32 bytes")
}

/// A fixed time, so that nothing expires or rolls over during a run.
pub fn clock() -> ManualClock {
    ManualClock::new(Timestamp::from_unix_seconds(1_800_000_000))
}

/// The livetest preset with a plan too large to refuse anything: what verify + rate limit
/// costs when the limit is checked but not reached.
pub fn unlimited_livetest() -> Preset {
    let mut preset = Preset::livetest();
    let big = RatePlan::new("big").per_minute(u64::MAX / 4).per_hour(u64::MAX / 4);
    preset.plans = RatePlans::new().default_for(KeyKind::User, big);
    preset
}

/// A gate over `store` holding `n` live keys with the `tasks:read` scope; returns the keys.
///
/// # Panics
/// If minting fails (the OS random number generator fails).
pub fn fixture(preset: Preset, store: Arc<dyn KeyStore>, n: usize) -> (Keygate, Vec<String>) {
    let gate = Keygate::builder(preset)
        .pepper(1, pepper())
        .store(store)
        .clock(Arc::new(clock()))
        .failure_budget(None)
        .build()
        .expect("gate");
    let keys = (0..n)
        .map(|i| {
            let new = NewKey::new(Owner::workspace(format!("wks_{}", i % 100)), "bench")
                .scopes(["tasks:read"])
                .expect("scope");
            ready(gate.mint(new)).expect("mint").key.expose_secret().to_owned()
        })
        .collect();
    (gate, keys)
}

/// [`fixture`] over a new in-memory store.
pub fn memory_fixture(preset: Preset, n: usize) -> (Keygate, Vec<String>) {
    fixture(preset, Arc::new(MemoryStore::new()), n)
}

/// Waits long enough for a change feed to connect.
pub const LISTENER_SETTLE: Duration = Duration::from_millis(500);
