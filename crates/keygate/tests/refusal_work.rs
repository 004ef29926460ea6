//! Refusals that answer alike do the same work: an unknown id, a wrong secret and a revoked
//! key's right secret each read the clock once, so that the time a refusal takes does not tell
//! them apart (the dudect test in `benches/benches/timing.rs` measures it). A valid key that
//! cannot lapse never reads it.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use keygate::clock::{Clock, Timestamp};
use keygate::format::{Environment, checksum};
use keygate::manage::NewKey;
use keygate::preset::Preset;
use keygate::store::Owner;
use keygate::{AuthError, Keygate};

/// A fixed time that counts how often it is read.
#[derive(Debug, Default)]
struct CountingClock(AtomicUsize);

impl Clock for CountingClock {
    fn now(&self) -> Timestamp {
        self.0.fetch_add(1, Ordering::SeqCst);
        Timestamp::from_unix_seconds(1_800_000_000)
    }
}

/// `key` with its last secret character changed and the checksum fixed, so that it parses.
fn wrong_secret(key: &str) -> String {
    let signed = &key[..key.len() - 6];
    let last = if signed.ends_with('A') { "B" } else { "A" };
    let changed = format!("{}{last}", &signed[..signed.len() - 1]);
    let sum = checksum(&changed);
    changed + &sum
}

#[tokio::test]
async fn every_invalid_key_refusal_reads_the_clock_once() {
    let clock = Arc::new(CountingClock::default());
    let gate = Keygate::builder(Preset::livetest())
        .random_pepper()
        .clock(clock.clone())
        .failure_budget(None)
        .build()
        .unwrap();
    let mint = |name: &'static str| {
        let gate = &gate;
        async move {
            let minted = gate.mint(NewKey::new(Owner::workspace("wks_1"), name)).await.unwrap();
            minted.key.expose_secret().to_owned()
        }
    };
    let live = mint("live").await;
    let revoked = mint("revoked").await;
    let id = gate.preset().format.parse(&revoked).unwrap().id();
    gate.revoke_key(&id).await.unwrap();
    let prefix = gate.preset().format.prefix(Environment::Live).to_owned();
    let unknown_body = "0".repeat(live.len() - prefix.len() - 6);
    let unknown = format!("{prefix}{unknown_body}");
    let unknown = format!("{unknown}{}", checksum(&unknown));

    let reads = |key: String| {
        let (gate, clock) = (&gate, &clock);
        async move {
            let before = clock.0.load(Ordering::SeqCst);
            let outcome = gate.verify(&key).await.map(|_| ());
            (outcome, clock.0.load(Ordering::SeqCst) - before)
        }
    };
    let invalid = |e: AuthError| gate.render(&e, None);
    let cases = [
        ("unknown id", unknown),
        ("wrong secret", wrong_secret(&live)),
        ("revoked, right secret", revoked.clone()),
        ("revoked, wrong secret", wrong_secret(&revoked)),
    ];
    let mut answers = Vec::new();
    for (what, key) in cases {
        let (outcome, n) = reads(key).await;
        let err = outcome.expect_err(what);
        assert!(matches!(err, AuthError::Invalid(_)), "{what}: {err:?}");
        assert_eq!(n, 1, "{what} reads the clock once");
        let answer = invalid(err);
        answers.push((answer.status, answer.body));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "every one answers alike");
    let (outcome, n) = reads(live).await;
    assert!(outcome.is_ok());
    assert_eq!(n, 0, "a live key that cannot lapse reads no clock");
}
