//! Helpers shared by the core's integration tests.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use keygate::clock::{ManualClock, Timestamp};
use keygate::preset::Preset;
use keygate::{Keygate, KeygateBuilder};

/// A time, written as RFC 3339.
pub fn at(rfc3339: &str) -> Timestamp {
    Timestamp::parse_rfc3339(rfc3339).expect("an RFC 3339 time")
}

/// The headers of a request carrying `key` as a Bearer token.
pub fn bearer(key: &str) -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {key}"))]
}

/// A builder for `preset` with a random pepper and `clock`.
pub fn builder(preset: Preset, clock: &ManualClock) -> KeygateBuilder {
    Keygate::builder(preset).random_pepper().clock(Arc::new(clock.clone()))
}

/// A gate for `preset` with a random pepper and `clock`.
pub fn gate(preset: Preset, clock: &ManualClock) -> Keygate {
    builder(preset, clock).build().expect("a gate")
}
