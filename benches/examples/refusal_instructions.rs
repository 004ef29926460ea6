//! Instructions per refused verification, by kind of refusal: the noise-free complement of the
//! dudect test (`benches/benches/timing.rs`). Under `valgrind --tool=callgrind` the count is the
//! same from run to run whatever else the machine does, so a branch that one refusal takes and
//! another does not shows as a difference here even where timings are too noisy to tell.
//!
//! ```text
//! cargo build --release -p keygate-benches --example refusal_instructions
//! for class in wrong-secret unknown-id revoked-right revoked-wrong; do
//!   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*' \
//!     --callgrind-out-file=/dev/null \
//!     target/release/examples/refusal_instructions $class 2>&1 | grep Collected
//! done
//! ```
//!
//! Each class verifies `ROUNDS` × `KEYS` inputs, all refused with the same error; divide the
//! collected count by that product for instructions per verification.

use std::sync::Arc;

use keygate::Keygate;
use keygate::format::{Environment, KeyFormat, checksum};
use keygate::manage::NewKey;
use keygate::preset::Preset;
use keygate::store::{MemoryStore, Owner};
use keygate_benches::{pepper, ready};

/// Keys minted, and inputs per round.
const KEYS: usize = 2_000;
/// Rounds over the inputs.
const ROUNDS: usize = 20;

/// The measured part: `--toggle-collect` counts only inside this function.
#[inline(never)]
fn measured(gate: &Keygate, inputs: &[String]) -> usize {
    let mut accepted = 0;
    for _ in 0..ROUNDS {
        for key in inputs {
            accepted += usize::from(ready(gate.verify(key)).is_ok());
        }
    }
    accepted
}

/// `key`'s id with `secret` (checksum fixed).
fn with_secret(format: &KeyFormat, key: &str, secret: &str) -> String {
    let prefix = format.prefix(Environment::Live);
    let id = &key[prefix.len()..prefix.len() + format.id_len()];
    forge(prefix, id, secret)
}

fn forge(prefix: &str, id: &str, secret: &str) -> String {
    let signed = format!("{prefix}{id}{secret}");
    let sum = checksum(&signed);
    signed + &sum
}

fn main() {
    let class = std::env::args().nth(1).unwrap_or_default();
    let gate = Keygate::builder(Preset::livetest())
        .pepper(1, pepper())
        .store(Arc::new(MemoryStore::new()))
        .failure_budget(None)
        .build()
        .expect("gate");
    let format = gate.preset().format.clone();
    let keys: Vec<String> = (0..KEYS)
        .map(|i| {
            let new = NewKey::new(Owner::workspace(format!("wks_{}", i % 100)), "timing")
                .scopes(["tasks:read"])
                .expect("scope");
            ready(gate.mint(new)).expect("mint").key.expose_secret().to_owned()
        })
        .collect();
    // A wrong secret of the right length, different for every input.
    let wrong = |i: usize| format!("{:0>43}", i * 7 + 1);
    let inputs: Vec<String> = match class.as_str() {
        "wrong-secret" => {
            keys.iter().enumerate().map(|(i, k)| with_secret(&format, k, &wrong(i))).collect()
        }
        "unknown-id" => (0..KEYS)
            .map(|i| forge(format.prefix(Environment::Live), &format!("unk{i:09}"), &wrong(i)))
            .collect(),
        "revoked-right" | "revoked-wrong" => keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let id = format.parse(k).expect("minted key").id();
                ready(gate.revoke_key(&id)).expect("revoke");
                if class == "revoked-right" {
                    k.clone()
                } else {
                    with_secret(&format, k, &wrong(i))
                }
            })
            .collect(),
        _ => {
            eprintln!(
                "usage: refusal_instructions wrong-secret|unknown-id|revoked-right|revoked-wrong"
            );
            std::process::exit(2);
        }
    };
    // Outside the count: the first unknown id builds the decoys.
    for key in &inputs[..10] {
        let _ = ready(gate.verify(key));
    }
    assert_eq!(measured(&gate, &inputs), 0, "every input is refused");
    println!("{class}: {} verifications", ROUNDS * KEYS);
}
