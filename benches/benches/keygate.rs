//! keygate's verification against its physical floor (one pre-keyed HMAC-SHA256, one SHA-256)
//! and its peers, in one run. `cargo bench -p keygate-benches`; results in benches/RESULTS.md.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use keygate::AuthError;
use keygate::error::{InvalidKey, Malformed};
use keygate::format::{Environment, ParseError};
use keygate::preset::Preset;
use keygate::store::{CacheConfig, KeyStore, KeyUpdate, Peek};
use keygate_benches::{memory_fixture, ready, unlimited_livetest};
use sha2::{Digest, Sha256};

const HOT: usize = 1_000;

fn secret_of(gate: &keygate::Keygate, key: &str) -> String {
    gate.preset().format.parse(key).expect("key").secret().to_owned()
}

/// The floor: what any keyed-hash verification must do at least.
/// The credential read from the headers, then verified: the check alone, without the
/// request pipeline of `authenticate`.
async fn verify_headers(
    gate: &keygate::Keygate,
    headers: &[(&str, String); 1],
) -> Result<keygate::Principal, AuthError> {
    let key = gate.preset().sources.extract(headers)?;
    gate.verify(key).await
}

fn floor(c: &mut Criterion) {
    let (gate, keys) = memory_fixture(Preset::livetest(), 1);
    let secret = secret_of(&gate, &keys[0]);
    let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"benchmark pepper, 32 bytes long!")
        .expect("key");
    // The floor computes what a verify compares: the stored hash of the key.
    let mut m = mac.clone();
    m.update(secret.as_bytes());
    let id = gate.preset().format.parse(&keys[0]).expect("key").id();
    let stored = ready(gate.store().find(&id)).expect("find").expect("record");
    assert_eq!(&<[u8; 32]>::from(m.finalize().into_bytes()), stored.hash.as_bytes());
    let mut g = c.benchmark_group("floor");
    g.throughput(Throughput::Elements(1));
    g.bench_function("hmac_sha256_prekeyed", |b| {
        b.iter(|| {
            let mut m = mac.clone();
            m.update(black_box(secret.as_bytes()));
            black_box(m.finalize().into_bytes())
        })
    });
    g.bench_function("sha256", |b| {
        b.iter(|| black_box(Sha256::digest(black_box(secret.as_bytes()))))
    });
    // keygate's own pre-keyed HMAC: the inner and outer states driven by the compression
    // function directly; the same hash as the `hmac` crate's (checked above via the store).
    let hasher = keygate::hash::KeyHasher::new(1, keygate_benches::pepper());
    assert_eq!(&hasher.hash(&secret).1, &stored.hash, "the hasher makes the stored hash");
    g.bench_function("keygate_hasher", |b| {
        b.iter(|| black_box(hasher.verify(black_box(&secret), 1, &stored.hash)))
    });
    g.finish();
}

fn verify(c: &mut Criterion) {
    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(1));

    let (gate, keys) = memory_fixture(unlimited_livetest(), HOT);
    for key in &keys {
        ready(gate.verify(key)).expect("valid_hot_1k verifies");
    }
    let mut i = 0;
    g.bench_function("valid_hot_1k", |b| {
        b.iter(|| {
            i = (i + 1) % HOT;
            black_box(ready(gate.verify(black_box(&keys[i]))).is_ok())
        })
    });

    // verify alone and verify + rate limit, both from headers, so the only difference is the
    // limit (and usage counting).
    let headers: Vec<[(&str, String); 1]> =
        keys.iter().map(|k| [("authorization", format!("Bearer {k}"))]).collect();
    for h in &headers {
        ready(verify_headers(&gate, h)).expect("valid_hot_1k_headers verifies");
        let passed = ready(gate.authenticate(h, None)).expect("authenticate passes");
        assert!(passed.rate_limit().is_some(), "the rate limit is checked");
    }
    g.bench_function("valid_hot_1k_headers", |b| {
        b.iter(|| {
            i = (i + 1) % HOT;
            black_box(ready(verify_headers(&gate, black_box(&headers[i]))).is_ok())
        })
    });
    g.bench_function("valid_hot_1k_headers_with_rate_limit", |b| {
        b.iter(|| {
            i = (i + 1) % HOT;
            black_box(ready(gate.authenticate(black_box(&headers[i]), None)).is_ok())
        })
    });

    // Rejections.
    let mut bad_checksum = keys[0].clone();
    let last = bad_checksum.pop().expect("char");
    bad_checksum.push(if last == '0' { '1' } else { '0' });
    assert!(matches!(
        ready(gate.verify(&bad_checksum)),
        Err(AuthError::Malformed(Malformed::Key(ParseError::BadChecksum)))
    ));
    g.bench_function("reject_bad_checksum", |b| {
        b.iter(|| black_box(ready(gate.verify(black_box(&bad_checksum))).is_err()))
    });
    let unknown = gate.preset().format.generate(Environment::Live).expect("key");
    let unknown = unknown.expose_secret().to_owned();
    assert!(matches!(ready(gate.verify(&unknown)), Err(AuthError::Invalid(InvalidKey::UnknownId))));
    g.bench_function("reject_unknown_id", |b| {
        b.iter(|| black_box(ready(gate.verify(black_box(&unknown))).is_err()))
    });
    let cut = keys[1].len() - 7;
    let body =
        format!("{}{}", &keys[1][..cut], if &keys[1][cut..cut + 1] == "a" { "b" } else { "a" });
    let wrong_secret = format!("{body}{}", keygate::format::checksum(&body));
    assert!(matches!(
        ready(gate.verify(&wrong_secret)),
        Err(AuthError::Invalid(InvalidKey::WrongSecret))
    ));
    g.bench_function("reject_wrong_secret", |b| {
        b.iter(|| black_box(ready(gate.verify(black_box(&wrong_secret))).is_err()))
    });
    let id = gate.preset().format.parse(&keys[2]).expect("key").id();
    let expire = KeyUpdate {
        expires_at: Some(Some(keygate::clock::Timestamp::UNIX_EPOCH)),
        ..KeyUpdate::default()
    };
    ready(gate.store().update(&id, &expire)).expect("update");
    assert!(matches!(ready(gate.verify(&keys[2])), Err(AuthError::Expired)));
    g.bench_function("reject_expired", |b| {
        b.iter(|| black_box(ready(gate.verify(black_box(&keys[2]))).is_err()))
    });
    g.finish();
}

fn large_store(c: &mut Criterion) {
    const N: usize = 1_000_000;
    let started = Instant::now();
    let (gate, keys) = memory_fixture(Preset::livetest(), N);
    eprintln!("minted {N} keys in {:?}", started.elapsed());
    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(1));
    // A stride through the keys, so that lookups miss the CPU caches as a big store would.
    for key in keys.iter().step_by(7_919) {
        ready(gate.verify(key)).expect("valid_1m_store verifies");
    }
    let mut i = 0usize;
    g.bench_function("valid_1m_store", |b| {
        b.iter(|| {
            i = (i + 7_919) % N;
            black_box(ready(gate.verify(black_box(&keys[i]))).is_ok())
        })
    });
    g.finish();
}

/// Verifications per second on 1 and 2 threads over the hot set.
fn threads(c: &mut Criterion) {
    let (gate, keys) = memory_fixture(Preset::livetest(), HOT);
    for key in &keys {
        ready(gate.verify(key)).expect("threads/valid_hot_1k verifies");
    }
    let keys = Arc::new(keys);
    let mut g = c.benchmark_group("threads");
    for n in [1usize, 2] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("valid_hot_1k", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                std::thread::scope(|s| {
                    for t in 0..n {
                        let (gate, keys) = (&gate, &keys);
                        s.spawn(move || {
                            for j in 0..iters as usize {
                                let key = &keys[(j * 31 + t * 500) % HOT];
                                black_box(ready(gate.verify(key)).is_ok());
                            }
                        });
                    }
                });
                start.elapsed()
            })
        });
    }
    g.finish();
}

/// What other approaches cost for the same job.
fn peers(c: &mut Criterion) {
    let mut g = c.benchmark_group("peers");
    g.throughput(Throughput::Elements(1));

    // The prefixed-api-key crate: parse, look the short token up, SHA-256 the long token and
    // compare its hex text.
    let controller = prefixed_api_key::PrefixedApiKeyController::configure()
        .prefix("mycompany".to_owned())
        .seam_defaults()
        .finalize()
        .expect("controller");
    let mut table = HashMap::new();
    let mut presented = Vec::new();
    for _ in 0..HOT {
        let (pak, hash) = controller.try_generate_key_and_hash().expect("key");
        table.insert(pak.short_token().to_owned(), hash);
        presented.push(pak.to_string());
    }
    for text in &presented {
        let pak = prefixed_api_key::PrefixedApiKey::from_string(text).expect("key");
        assert!(controller.check_hash(&pak, &table[pak.short_token()]), "a presented key checks");
    }
    let mut i = 0;
    g.bench_function("prefixed_api_key_check", |b| {
        b.iter(|| {
            i = (i + 1) % HOT;
            let pak = prefixed_api_key::PrefixedApiKey::from_string(black_box(&presented[i]))
                .expect("key");
            let hash = &table[pak.short_token()];
            black_box(controller.check_hash(&pak, hash))
        })
    });

    // Plain equality, as tower-http's deprecated bearer check did: one static token.
    let token = format!("Bearer {}", presented[0]);
    let header = token.clone();
    assert!(header == token);
    g.bench_function("plain_eq", |b| b.iter(|| black_box(black_box(&header) == black_box(&token))));
    g.finish();

    // Keys hashed like passwords: Argon2id with the argon2 crate's default parameters
    // (19 MiB, 2 passes), recomputed and compared on every verify.
    let argon = argon2::Argon2::default();
    let salt = b"a fixed bench salt";
    let secret = presented[0].as_bytes();
    let mut stored = [0u8; 32];
    argon.hash_password_into(secret, salt, &mut stored).expect("hash");
    let mut again = [0u8; 32];
    argon.hash_password_into(secret, salt, &mut again).expect("hash");
    assert_eq!(again, stored, "argon2id_verify recomputes the stored hash");
    let mut g = c.benchmark_group("peers");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("argon2id_verify", |b| {
        b.iter(|| {
            let mut out = [0u8; 32];
            argon.hash_password_into(black_box(secret), salt, &mut out).expect("hash");
            black_box(out == stored)
        })
    });
    g.finish();
}

/// Verify against PostgreSQL behind the verification cache, hot keys, beside the in-memory
/// store. Runs only with `KEYGATE_TEST_POSTGRES_URL` set.
fn cached_postgres(c: &mut Criterion) {
    let Ok(url) = std::env::var("KEYGATE_TEST_POSTGRES_URL") else {
        eprintln!("skipped verify/cached_postgres: KEYGATE_TEST_POSTGRES_URL is not set");
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let schema = format!("kg_bench_{}", std::process::id());
    let (store, cached) = runtime.block_on(async {
        let store = keygate_postgres::PgStore::builder(&url)
            .schema(&schema)
            .connect()
            .await
            .expect("postgres");
        let cached = keygate_postgres::cached(
            store.clone(),
            CacheConfig { ttl: Duration::from_secs(3600), ..CacheConfig::default() },
        );
        tokio::time::sleep(keygate_benches::LISTENER_SETTLE).await;
        (store, cached)
    });
    let (gate, keys) = runtime.block_on(async {
        let gate = keygate::Keygate::builder(Preset::livetest())
            .pepper(1, keygate_benches::pepper())
            .store(cached.clone())
            .clock(Arc::new(keygate_benches::clock()))
            .build()
            .expect("gate");
        let mut keys = Vec::new();
        for _ in 0..HOT {
            let new = keygate::manage::NewKey::new(
                keygate::store::Owner::workspace("wks_bench"),
                "bench",
            );
            keys.push(gate.mint(new).await.expect("mint").key.expose_secret().to_owned());
        }
        // Warm the cache: one verify per key reads it from PostgreSQL.
        for k in &keys {
            gate.verify(k).await.expect("verify");
        }
        (gate, keys)
    });
    // Every key verifies, and from the cache, not PostgreSQL.
    for key in &keys {
        ready(gate.verify(key)).expect("valid_hot_1k_cached_postgres verifies from memory");
        let id = gate.preset().format.parse(key).expect("key").id();
        assert!(matches!(cached.peek(&id), Peek::Found(_)), "served from the cache");
    }
    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    g.bench_function("valid_hot_1k_cached_postgres", |b| {
        b.iter(|| {
            i = (i + 1) % HOT;
            black_box(ready(gate.verify(black_box(&keys[i]))).is_ok())
        })
    });
    g.finish();
    runtime.block_on(async {
        let drop = format!(r#"DROP SCHEMA IF EXISTS "{schema}" CASCADE"#);
        sqlx::query(&drop).execute(store.pool()).await.expect("drop schema");
        store.pool().close().await;
    });
}

/// The failed-auth throttle at capacity: a failure from an address it already tracks against
/// one from a new address, which takes the place of the address that failed longest ago.
fn throttle(c: &mut Criterion) {
    const CLIENTS: usize = 100_000;
    let rss = || -> usize {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0) * 4096
    };
    // Measured from before the gate is built: the throttle's table is allocated for its
    // capacity up front.
    let before = rss();
    let gate = keygate::Keygate::builder(Preset::livetest())
        .pepper(1, keygate_benches::pepper())
        .clock(Arc::new(keygate_benches::clock()))
        .failure_budget(Some(keygate::limit::Window::new(1_000_000, Duration::from_secs(60))))
        .failure_clients(keygate::limit::ClientGrouping::default(), CLIENTS)
        .build()
        .expect("gate");
    let forged = [(
        "authorization",
        format!(
            "Bearer {}",
            gate.preset().format.generate(Environment::Live).expect("random").expose_secret()
        ),
    )];
    let addr = |n: u32| keygate::Peer::from(std::net::IpAddr::from(std::net::Ipv4Addr::from(n)));
    for n in 0..CLIENTS as u32 {
        let refused = ready(gate.authenticate(&forged, addr(n)));
        assert!(matches!(refused, Err(AuthError::Invalid(InvalidKey::UnknownId))));
    }
    eprintln!(
        "throttle: {CLIENTS} tracked addresses, resident memory grew by {} bytes ({} per address)",
        rss().saturating_sub(before),
        rss().saturating_sub(before) / CLIENTS
    );
    let mut g = c.benchmark_group("throttle");
    g.bench_function("failure_tracked_address", |b| {
        b.iter(|| black_box(ready(gate.authenticate(&forged, addr(7))).is_err()))
    });
    let mut next = CLIENTS as u32;
    g.bench_function("failure_new_address_at_capacity", |b| {
        b.iter(|| {
            next = next.wrapping_add(1);
            black_box(ready(gate.authenticate(&forged, addr(next))).is_err())
        })
    });
    g.finish();
}

/// A request through `authenticate` (verify, rate limit, usage) on keys without credits and on
/// the same keys given credits: the cost of spending one, in the memory store.
fn credits(c: &mut Criterion) {
    let mut g = c.benchmark_group("credits");
    g.throughput(Throughput::Elements(1));
    let headers = |keys: &[String]| -> Vec<[(&str, String); 1]> {
        keys.iter().map(|k| [("authorization", format!("Bearer {k}"))]).collect()
    };

    // Both sets of keys are changed once after minting, so that their records were allocated
    // alike: the only difference is the credits.
    let (gate, keys) = memory_fixture(unlimited_livetest(), HOT);
    let plain = headers(&keys);
    for h in &plain {
        let id = ready(gate.authenticate(h, None)).expect("authenticate passes").key_id();
        let renamed = KeyUpdate { name: Some("bench".into()), ..KeyUpdate::default() };
        ready(gate.update_key(&id, renamed)).expect("update");
        let passed = ready(gate.authenticate(h, None)).expect("authenticate passes");
        assert_eq!(passed.remaining(), None, "a key without credits");
    }
    let mut i = 0;
    g.bench_function("authenticate_hot_1k", |b| {
        b.iter(|| {
            i = (i + 1) % HOT;
            black_box(ready(gate.authenticate(black_box(&plain[i]), None)).is_ok())
        })
    });

    let (gate, keys) = memory_fixture(unlimited_livetest(), HOT);
    let metered = headers(&keys);
    for h in &metered {
        let id = ready(gate.authenticate(h, None)).expect("authenticate passes").key_id();
        let credits = KeyUpdate { remaining: Some(Some(u64::MAX / 2)), ..KeyUpdate::default() };
        ready(gate.update_key(&id, credits)).expect("update");
        let passed = ready(gate.authenticate(h, None)).expect("authenticate passes");
        assert!(passed.remaining().is_some(), "a key with credits spends them");
    }
    g.bench_function("authenticate_hot_1k_with_credits", |b| {
        b.iter(|| {
            i = (i + 1) % HOT;
            black_box(ready(gate.authenticate(black_box(&metered[i]), None)).is_ok())
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    floor,
    verify,
    credits,
    threads,
    peers,
    cached_postgres,
    large_store,
    throttle
);
criterion_main!(benches);
