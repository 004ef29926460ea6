//! One hot path of a verification, run in a loop on its own, for a profiler: perf, or
//! `valgrind --tool=callgrind`, which counts instructions the same from run to run.
//!
//! ```text
//! cargo build --release -p keygate-benches --example hot_path
//! perf record -g target/release/examples/hot_path authenticate 5000000
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*' \
//!   target/release/examples/hot_path authenticate 20000
//! ```
//!
//! Paths: `verify` (a valid key, as text), `headers` (a valid key read from its header, then
//! verified), `authenticate` (the request pipeline: verify, rate limit, usage) and
//! `bad_checksum` (a key refused by its checksum). All over the same 1,000 keys in memory.

use keygate::Keygate;
use keygate_benches::{memory_fixture, ready, unlimited_livetest};

const KEYS: usize = 1_000;

#[derive(Clone, Copy)]
enum Path {
    Verify,
    Headers,
    Authenticate,
    BadChecksum,
}

/// The profiled loop: `--toggle-collect` counts only inside this function.
#[inline(never)]
fn measured(
    gate: &Keygate,
    path: Path,
    keys: &[String],
    requests: &[[(&str, String); 1]],
    n: usize,
) -> usize {
    let mut passed = 0;
    for i in 0..n {
        let k = i % KEYS;
        passed += usize::from(match path {
            Path::Verify | Path::BadChecksum => ready(gate.verify(&keys[k])).is_ok(),
            Path::Headers => {
                let key = gate.preset().sources.extract(&requests[k]).expect("a bearer key");
                ready(gate.verify(key)).is_ok()
            }
            Path::Authenticate => ready(gate.authenticate(&requests[k], None)).is_ok(),
        });
    }
    passed
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = match args.next().as_deref() {
        Some("verify") => Path::Verify,
        Some("headers") => Path::Headers,
        Some("authenticate") => Path::Authenticate,
        Some("bad_checksum") => Path::BadChecksum,
        _ => {
            eprintln!("usage: hot_path verify|headers|authenticate|bad_checksum [iterations]");
            std::process::exit(2);
        }
    };
    let n = args.next().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let (gate, mut keys) = memory_fixture(unlimited_livetest(), KEYS);
    if let Path::BadChecksum = path {
        for key in &mut keys {
            let last = key.pop().expect("a key");
            key.push(if last == '0' { '1' } else { '0' });
        }
    }
    let requests: Vec<[(&str, String); 1]> =
        keys.iter().map(|k| [("authorization", format!("Bearer {k}"))]).collect();
    let passed = measured(&gate, path, &keys, &requests, n);
    let expected = if let Path::BadChecksum = path { 0 } else { n };
    assert_eq!(passed, expected, "every request takes the path it names");
    println!("{n} requests");
}
