//! Instructions per authenticated request, on keys without credits and on the same keys with
//! credits: what spending costs, counted by `valgrind --tool=callgrind`, the same from run to run
//! where timings on a shared machine are not.
//!
//! ```text
//! cargo build --release -p keygate-benches --example credits_instructions
//! for keys in plain metered; do
//!   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*' \
//!     --callgrind-out-file=/dev/null \
//!     target/release/examples/credits_instructions $keys 2>&1 | grep Collected
//! done
//! ```
//!
//! Each run authenticates `ROUNDS` × `KEYS` requests; divide the collected count by that product
//! for instructions per request.

use keygate::Keygate;
use keygate::store::KeyUpdate;
use keygate_benches::{memory_fixture, ready, unlimited_livetest};

/// Keys minted, and requests per round.
const KEYS: usize = 1_000;
/// Rounds over the keys.
const ROUNDS: usize = 20;

/// The measured part: `--toggle-collect` counts only inside this function.
#[inline(never)]
fn measured(gate: &Keygate, requests: &[[(&str, String); 1]]) -> usize {
    let mut passed = 0;
    for _ in 0..ROUNDS {
        for headers in requests {
            passed += usize::from(ready(gate.authenticate(headers, None)).is_ok());
        }
    }
    passed
}

fn main() {
    let metered = match std::env::args().nth(1).as_deref() {
        Some("plain") => false,
        Some("metered") => true,
        _ => {
            eprintln!("usage: credits_instructions plain|metered");
            std::process::exit(2);
        }
    };
    let (gate, keys) = memory_fixture(unlimited_livetest(), KEYS);
    let requests: Vec<[(&str, String); 1]> =
        keys.iter().map(|k| [("authorization", format!("Bearer {k}"))]).collect();
    for headers in &requests {
        let id = ready(gate.authenticate(headers, None)).expect("authenticate passes").key_id();
        // Both kinds of keys are changed once, so that their records are allocated alike.
        let change = if metered {
            KeyUpdate { remaining: Some(Some(u64::MAX / 2)), ..KeyUpdate::default() }
        } else {
            KeyUpdate { name: Some("bench".into()), ..KeyUpdate::default() }
        };
        ready(gate.update_key(&id, change)).expect("update");
    }
    let passed = measured(&gate, &requests);
    assert_eq!(passed, ROUNDS * KEYS, "every request passes");
    println!("{passed} requests authenticated ({})", if metered { "metered" } else { "plain" });
}
