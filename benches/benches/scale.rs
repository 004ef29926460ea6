//! How verification and memory scale with the number of keys in the in-memory store: 1 k,
//! 100 k, 1 M and 10 M keys, each in a store of its own, with the resident memory each key
//! adds. Peers at the same sizes: an Unkey-style verify (SHA-256 of the whole key, then a map
//! lookup by that digest), and governor's keyed rate limiter against keygate's.
//!
//! ```text
//! cargo bench -p keygate-benches --bench scale                     # every size, about 10 minutes
//! KEYGATE_SCALE=1000,1000000 cargo bench -p keygate-benches --bench scale
//! ```
//!
//! Run by hand, not in CI: 10 M keys take about 8 GiB of memory and a minute to mint. Lookups
//! stride through the keys so that they miss the CPU caches as a big store's would. Memory is
//! the growth of the process's resident set while the keys are minted, divided by their number.

use std::collections::HashMap;
use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use keygate::clock::Timestamp;
use keygate::format::{Environment, KeyId};
use keygate::limit::{InProcessLimiter, RatePlan};
use keygate::manage::NewKey;
use keygate::preset::Preset;
use keygate::store::{MemoryStore, Owner};
use keygate_benches::ready;
use sha2::{Digest, Sha256};

/// Keys presented in the timed loops: every n-th minted key, so that the list the bench keeps
/// does not itself grow with the store.
const SAMPLE: usize = 100_000;
/// A stride through the sample that is prime to its length: consecutive lookups land far apart.
const STRIDE: usize = 7_919;

fn sizes() -> Vec<usize> {
    std::env::var("KEYGATE_SCALE")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 100_000, 1_000_000, 10_000_000])
}

fn label(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n.is_multiple_of(1_000_000) => format!("{}m", n / 1_000_000),
        n if n >= 1_000 && n.is_multiple_of(1_000) => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

/// The process's resident memory, in bytes.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0) * 4096
}

/// The presented keys' order: a stride through them.
fn strided<T: Clone>(all: &[T]) -> Vec<T> {
    let n = all.len();
    let stride = if n > STRIDE && !n.is_multiple_of(STRIDE) { STRIDE } else { 1 };
    (0..n).map(|i| all[(i * stride) % n].clone()).collect()
}

fn keygate_verify(c: &mut Criterion, n: usize) {
    let gate = keygate::Keygate::builder(Preset::livetest())
        .pepper(1, keygate_benches::pepper())
        .store(Arc::new(MemoryStore::new()))
        .clock(Arc::new(keygate_benches::clock()))
        .failure_budget(None)
        .build()
        .expect("gate");
    let every = (n / SAMPLE).max(1);
    let mut sample = Vec::with_capacity(n.min(SAMPLE) + 1);
    let started = Instant::now();
    let before = rss();
    for i in 0..n {
        let new = NewKey::new(Owner::workspace(format!("wks_{}", i % 100)), "bench")
            .scopes(["tasks:read"])
            .expect("scope");
        let minted = ready(gate.mint(new)).expect("mint");
        if i % every == 0 {
            sample.push(minted.key.expose_secret().to_owned());
        }
    }
    let grown = rss().saturating_sub(before);
    eprintln!(
        "scale/keygate_verify/{}: minted in {:.1?}; resident memory grew by {} MiB, {} bytes per key",
        label(n),
        started.elapsed(),
        grown >> 20,
        grown / n
    );
    let presented = strided(&sample);
    for key in &presented {
        ready(gate.verify(key)).expect("every presented key verifies");
    }
    let mut g = c.benchmark_group("scale/keygate_verify");
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    g.bench_function(BenchmarkId::from_parameter(label(n)), |b| {
        b.iter(|| {
            i = (i + 1) % presented.len();
            black_box(ready(gate.verify(black_box(&presented[i]))).is_ok())
        })
    });
    g.finish();
}

/// What an Unkey-style verification keeps per key: the owner and what it may do, found by the
/// SHA-256 of the whole key.
#[allow(dead_code)]
struct UnkeyRecord {
    id: String,
    workspace_id: String,
    name: String,
    permissions: Vec<String>,
    expires_at: Option<i64>,
    enabled: bool,
}

fn unkey_verify(c: &mut Criterion, n: usize) {
    let format = Preset::livetest().format;
    let every = (n / SAMPLE).max(1);
    let mut table: HashMap<[u8; 32], Arc<UnkeyRecord>> = HashMap::with_capacity(n);
    let mut sample = Vec::with_capacity(n.min(SAMPLE) + 1);
    let before = rss();
    for i in 0..n {
        let key = format.generate(Environment::Live).expect("random");
        let record = UnkeyRecord {
            id: format!("key_{i}"),
            workspace_id: format!("wks_{}", i % 100),
            name: "bench".into(),
            permissions: vec!["tasks:read".into()],
            expires_at: None,
            enabled: true,
        };
        table.insert(Sha256::digest(key.expose_secret().as_bytes()).into(), Arc::new(record));
        if i % every == 0 {
            sample.push(key.expose_secret().to_owned());
        }
    }
    let grown = rss().saturating_sub(before);
    eprintln!("scale/unkey_style_verify/{}: {} bytes per key", label(n), grown / n);
    let presented = strided(&sample);
    let verify = |key: &str| -> Option<Arc<UnkeyRecord>> {
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        table.get(&digest).filter(|r| r.enabled && r.expires_at.is_none()).cloned()
    };
    for key in &presented {
        assert!(verify(key).is_some(), "every presented key is found");
    }
    let mut g = c.benchmark_group("scale/unkey_style_verify");
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    g.bench_function(BenchmarkId::from_parameter(label(n)), |b| {
        b.iter(|| {
            i = (i + 1) % presented.len();
            black_box(verify(black_box(&presented[i])).is_some())
        })
    });
    g.finish();
}

/// One allowed request of a key among `n` active keys: governor's keyed GCRA limiter (a
/// dashmap of atomic cells) against keygate's in-process limiter (one window here, as
/// governor has). Both limits are far above what the loop sends, so every check passes.
fn limiters(c: &mut Criterion, n: usize) {
    let ids: Vec<KeyId> =
        (0..n).map(|i| KeyId::from_raw(&format!("{i:0>12}")).expect("a base62 id")).collect();
    let presented = strided(&ids);
    let mut g = c.benchmark_group("scale/limiter");
    g.throughput(Throughput::Elements(1));

    let quota = governor::Quota::per_second(NonZeroU32::new(u32::MAX).expect("nonzero"));
    let governor = governor::RateLimiter::dashmap(quota);
    for id in &ids {
        assert!(governor.check_key(id).is_ok(), "governor allows");
    }
    let mut i = 0;
    g.bench_function(BenchmarkId::new("governor_keyed", label(n)), |b| {
        b.iter(|| {
            i = (i + 1) % presented.len();
            black_box(governor.check_key(black_box(&presented[i])).is_ok())
        })
    });
    drop(governor);

    let plan = RatePlan::new("bench").window(u64::MAX / 4, Duration::from_secs(1));
    let limiter = InProcessLimiter::new();
    let start = Timestamp::from_unix_seconds(1_800_000_000);
    for id in &ids {
        let decision = limiter.decide(id, &plan, start, true).expect("a plan with a window");
        assert!(decision.allowed, "keygate allows");
    }
    // Time moves as it would (a millisecond per 1,000 checks), within one window.
    let mut k = 0i64;
    g.bench_function(BenchmarkId::new("keygate_in_process", label(n)), |b| {
        b.iter(|| {
            k += 1;
            let now = Timestamp::from_unix_millis(start.unix_millis() + (k / 1_000) % 1_000);
            let id = &presented[k as usize % presented.len()];
            black_box(limiter.decide(black_box(id), &plan, now, true).is_some_and(|d| d.allowed))
        })
    });
    g.finish();
}

/// Each size and each part runs in a process of its own (this program again, with
/// `KEYGATE_SCALE_PART` set), so that the memory a part measures is not memory an earlier one
/// freed and the allocator reuses.
fn main() {
    let part = std::env::var("KEYGATE_SCALE_PART").ok();
    let Some(part) = part else {
        let exe = std::env::current_exe().expect("this program");
        for n in sizes() {
            let parts: &[&str] = if n <= 1_000_000 {
                &["keygate", "unkey", "limiter"]
            } else {
                &["keygate", "unkey"]
            };
            for part in parts {
                let status = std::process::Command::new(&exe)
                    .args(std::env::args_os().skip(1))
                    .env("KEYGATE_SCALE", n.to_string())
                    .env("KEYGATE_SCALE_PART", part)
                    .status()
                    .expect("run a part");
                assert!(status.success(), "scale/{part}/{} failed", label(n));
            }
        }
        return;
    };
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    for n in sizes() {
        match part.as_str() {
            "keygate" => keygate_verify(&mut c, n),
            "unkey" => unkey_verify(&mut c, n),
            "limiter" => limiters(&mut c, n),
            other => panic!("KEYGATE_SCALE_PART={other}: keygate, unkey or limiter"),
        }
    }
    c.final_summary();
}
