//! A dudect test of `Keygate::verify`: does the time a refusal takes tell an outsider which
//! refusal it was? Every pair below compares two inputs that get the same answer (401,
//! `invalid_key`), so timing is the only channel that could tell them apart.
//!
//! - `a_wrong_secret_vs_unknown_id`: the id of a minted key with a wrong secret, against an id
//!   no key has. Telling them apart would enumerate the ids that exist.
//! - `b_wrong_secret_vs_revoked`: a live key's id with a wrong secret, against a revoked key
//!   with its correct secret. Telling them apart would confirm that a leaked, revoked key was
//!   real.
//! - `c_revoked_wrong_vs_right_secret`: one revoked key's id, with a wrong secret against its
//!   correct secret: whether a guessed secret is right, for a key that is no longer in force.
//! - `d_wrong_secret_live_vs_revoked`: a wrong secret on a live key against a wrong secret on a
//!   revoked key: whether an id is still in force, without its secret.
//! - `e_control_wrong_secret_vs_wrong_secret`: a control, two classes of the same input (wrong
//!   secrets on two disjoint sets of live keys): the |t| this machine shows for no difference.
//!
//! Every forged key has a valid checksum, so it reaches the lookup. The store holds 20,000 keys
//! (`KEYGATE_DUDECT_KEYS`), one in ten revoked; each class draws from 1,024 distinct keys, as
//! many for both, and the records and inputs of both classes are allocated in turns, so that
//! where they sit in memory is not what is measured. The gate uses the system clock, as a
//! deployment does.
//!
//! Not a CI test. Run it by hand, on an otherwise idle machine:
//!
//! ```text
//! cargo bench -p keygate-benches --bench timing                      # every pair, once
//! cargo bench -p keygate-benches --bench timing -- --filter a_       # one pair
//! cargo bench -p keygate-benches --bench timing -- --continuous c_   # one pair, until Ctrl-C
//! KEYGATE_DUDECT_SAMPLES=4000000 cargo bench -p keygate-benches --bench timing
//! ```
//!
//! Each run of a pair takes `KEYGATE_DUDECT_SAMPLES` measurements (1,000,000 unless set), split
//! at random between the two classes; `--continuous` keeps adding runs. |t| above 5 means the
//! two classes take measurably different times. Results in `benches/RESULTS.md`.

use std::sync::{Arc, OnceLock};

use dudect_bencher::ctbench::{BenchMetadata, BenchName, BenchOpts, run_benches_console};
use dudect_bencher::rand::RngExt;
use dudect_bencher::rand::seq::index::sample;
use dudect_bencher::{BenchRng, Class, CtRunner};
use keygate::Keygate;
use keygate::format::{Environment, KeyFormat, checksum};
use keygate::manage::NewKey;
use keygate::preset::Preset;
use keygate::store::{KeyUpdate, MemoryStore, Owner};
use keygate_benches::{pepper, ready};

/// Keys minted in the store (unless `KEYGATE_DUDECT_KEYS` says otherwise): enough that the
/// records do not all stay in the CPU's caches.
const KEYS: usize = 20_000;
/// Keys revoked among them, spread evenly.
const REVOKED: usize = 2_000;
/// Distinct keys behind the inputs of each class (as many for both, so that neither class
/// touches more memory than the other); each measurement draws one input at random.
const POOL: usize = 1_024;
/// The base62 alphabet of ids and secrets.
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

struct Fixture {
    gate: Keygate,
    format: KeyFormat,
    /// Live keys, in full.
    live: Vec<String>,
    /// Revoked keys, in full.
    revoked: Vec<String>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let gate = Keygate::builder(Preset::livetest())
            .pepper(1, pepper())
            .store(Arc::new(MemoryStore::new()))
            .failure_budget(None)
            .build()
            .expect("gate");
        let count = env_number("KEYGATE_DUDECT_KEYS").unwrap_or(KEYS).max(REVOKED * 2);
        let all: Vec<String> = (0..count)
            .map(|i| {
                let new = NewKey::new(Owner::workspace(format!("wks_{}", i % 100)), "timing")
                    .scopes(["tasks:read"])
                    .expect("scope");
                ready(gate.mint(new)).expect("mint").key.expose_secret().to_owned()
            })
            .collect();
        let format = gate.preset().format.clone();
        // Every record is written again in one pass, the revoked ones spread among the others,
        // so that both kinds sit alike in memory: otherwise the measurement tells apart where
        // two batches of records were allocated, not what verify does with them.
        let every = count / REVOKED;
        let (mut keys, mut revoked) = (Vec::new(), Vec::new());
        for (i, key) in all.into_iter().enumerate() {
            let id = format.parse(&key).expect("minted key").id();
            if i % every == 0 && revoked.len() < REVOKED {
                ready(gate.revoke_key(&id)).expect("revoke");
                revoked.push(key);
            } else {
                let rename = KeyUpdate { name: Some("timing".into()), ..KeyUpdate::default() };
                ready(gate.store().update(&id, &rename)).expect("update");
                keys.push(key);
            }
        }
        for key in &keys {
            assert!(ready(gate.verify(key)).is_ok(), "a live key verifies");
        }
        for key in &revoked {
            assert!(ready(gate.verify(key)).is_err(), "a revoked key is refused");
        }
        Fixture { gate, format, live: keys, revoked }
    })
}

fn random_base62(rng: &mut BenchRng, len: usize) -> String {
    (0..len).map(|_| char::from(BASE62[rng.random_range(0..BASE62.len())])).collect()
}

/// `prefix` + `id` + `secret` with the checksum that makes it parse.
fn forge(prefix: &str, id: &str, secret: &str) -> String {
    let signed = format!("{prefix}{id}{secret}");
    let sum = checksum(&signed);
    signed + &sum
}

/// `key` with its secret replaced by a random one (checksum fixed).
fn with_wrong_secret(f: &Fixture, key: &str, rng: &mut BenchRng) -> String {
    let prefix = f.format.prefix(Environment::Live);
    let id = &key[prefix.len()..prefix.len() + f.format.id_len()];
    let secret = random_base62(rng, f.format.secret_len());
    let forged = forge(prefix, id, &secret);
    debug_assert_ne!(forged, key);
    forged
}

/// A well-formed key whose id no key has.
fn unknown_id(f: &Fixture, rng: &mut BenchRng) -> String {
    let prefix = f.format.prefix(Environment::Live);
    let id = random_base62(rng, f.format.id_len());
    let secret = random_base62(rng, f.format.secret_len());
    forge(prefix, &id, &secret)
}

/// `POOL` distinct keys of `keys`, at random.
fn pick<'a>(keys: &'a [String], rng: &mut BenchRng) -> Vec<&'a str> {
    sample(rng, keys.len(), POOL).into_iter().map(|i| keys[i].as_str()).collect()
}

fn env_number(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|s| s.replace(['_', ','], "").parse().ok())
}

fn samples() -> usize {
    env_number("KEYGATE_DUDECT_SAMPLES").unwrap_or(1_000_000)
}

/// Measures `samples()` verifications, each of a random input of a random class. Both classes
/// must be refused with the same error.
fn measure(runner: &mut CtRunner, rng: &mut BenchRng, left: &[String], right: &[String]) {
    let gate = &fixture().gate;
    // Both classes' inputs copied afresh in turns, so that they sit alike in memory.
    let (left, right): (Vec<String>, Vec<String>) =
        left.iter().zip(right).map(|(l, r)| (l.clone(), r.clone())).unzip();
    let (left, right) = (left.as_slice(), right.as_slice());
    let same = |key: &str| ready(gate.verify(key)).expect_err("refused").to_string();
    assert_eq!(same(&left[0]), same(&right[0]), "both classes get the same answer");
    // Warm up, outside the measurements.
    for key in left.iter().chain(right) {
        let _ = ready(gate.verify(key));
    }
    for _ in 0..samples() {
        let (class, pool) =
            if rng.random::<bool>() { (Class::Left, left) } else { (Class::Right, right) };
        let key = pool[rng.random_range(0..pool.len())].as_str();
        runner.run_one(class, || ready(gate.verify(key)).is_ok());
    }
}

fn a_wrong_secret_vs_unknown_id(runner: &mut CtRunner, rng: &mut BenchRng) {
    let f = fixture();
    let left: Vec<String> =
        pick(&f.live, rng).iter().map(|k| with_wrong_secret(f, k, rng)).collect();
    let right: Vec<String> = (0..POOL).map(|_| unknown_id(f, rng)).collect();
    measure(runner, rng, &left, &right);
}

fn b_wrong_secret_vs_revoked(runner: &mut CtRunner, rng: &mut BenchRng) {
    let f = fixture();
    let left: Vec<String> =
        pick(&f.live, rng).iter().map(|k| with_wrong_secret(f, k, rng)).collect();
    let right: Vec<String> = pick(&f.revoked, rng).iter().map(|k| (*k).to_owned()).collect();
    measure(runner, rng, &left, &right);
}

fn c_revoked_wrong_vs_right_secret(runner: &mut CtRunner, rng: &mut BenchRng) {
    let f = fixture();
    let chosen = pick(&f.revoked, rng);
    let left: Vec<String> = chosen.iter().map(|k| with_wrong_secret(f, k, rng)).collect();
    let right: Vec<String> = chosen.iter().map(|k| (*k).to_owned()).collect();
    measure(runner, rng, &left, &right);
}

fn d_wrong_secret_live_vs_revoked(runner: &mut CtRunner, rng: &mut BenchRng) {
    let f = fixture();
    let left: Vec<String> =
        pick(&f.live, rng).iter().map(|k| with_wrong_secret(f, k, rng)).collect();
    let right: Vec<String> =
        pick(&f.revoked, rng).iter().map(|k| with_wrong_secret(f, k, rng)).collect();
    measure(runner, rng, &left, &right);
}

fn e_control_wrong_secret_vs_wrong_secret(runner: &mut CtRunner, rng: &mut BenchRng) {
    let f = fixture();
    let both = sample(rng, f.live.len(), 2 * POOL).into_vec();
    let (one, other) = both.split_at(POOL);
    let left: Vec<String> = one.iter().map(|&i| with_wrong_secret(f, &f.live[i], rng)).collect();
    let right: Vec<String> = other.iter().map(|&i| with_wrong_secret(f, &f.live[i], rng)).collect();
    measure(runner, rng, &left, &right);
}

fn main() -> std::io::Result<()> {
    // `cargo bench` adds `--bench`; the rest are dudect-bencher's own options.
    let mut opts = BenchOpts::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--filter" => opts.filter = args.next(),
            "--continuous" => {
                opts.continuous = true;
                opts.filter = args.next();
            }
            "--out" => opts.file_out = args.next().map(Into::into),
            _ => {}
        }
    }
    let benches = vec![
        bench("a_wrong_secret_vs_unknown_id", a_wrong_secret_vs_unknown_id),
        bench("b_wrong_secret_vs_revoked", b_wrong_secret_vs_revoked),
        bench("c_revoked_wrong_vs_right_secret", c_revoked_wrong_vs_right_secret),
        bench("d_wrong_secret_live_vs_revoked", d_wrong_secret_live_vs_revoked),
        bench("e_control_wrong_secret_vs_wrong_secret", e_control_wrong_secret_vs_wrong_secret),
    ];
    run_benches_console(opts, benches)
}

fn bench(name: &'static str, benchfn: fn(&mut CtRunner, &mut BenchRng)) -> BenchMetadata {
    BenchMetadata { name: BenchName(name), seed: None, benchfn }
}
