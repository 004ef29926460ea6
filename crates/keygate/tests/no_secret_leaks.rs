//! Debug output, errors and log events never contain a secret.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use keygate::clock::{Clock, ManualClock, Timestamp};
use keygate::error::Malformed;
use keygate::format::ParseError;
use keygate::hash::Pepper;
use keygate::manage::NewKey;
use keygate::preset::Preset;
use keygate::scope::Requirement;
use keygate::store::{KeyUpdate, Owner};
use keygate::{AuthError, Keygate};

const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_never_appear_in_debug_errors_or_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let pepper_bytes = *b"pepper-that-must-never-be-logged";
    let clock = ManualClock::new(Timestamp::parse_rfc3339("2026-10-14T00:00:00Z").unwrap());
    let gate = Keygate::builder(Preset::livetest())
        .pepper(1, Pepper::new(pepper_bytes).unwrap())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let minted = gate
        .mint(NewKey::new(Owner::workspace("w"), "k").scopes(["tasks:read"]).unwrap())
        .await
        .unwrap();
    let key = minted.key.expose_secret().to_owned();
    let secret = gate.preset().format.parse(&key).unwrap().secret().to_owned();

    let mut seen = vec![format!("{minted:?}"), format!("{gate:?}")];
    let principal = gate.verify(&key).await.unwrap();
    seen.push(format!("{principal:?}"));
    let denied =
        gate.authorize(&principal, &Requirement::all_of(["tasks:write"]).unwrap()).unwrap_err();
    seen.push(format!("{denied:?} {denied}"));
    seen.push(format!("{:?}", gate.render(&denied, None)));

    // Failures: wrong secret, bad checksum, wrong length, revoked, expired.
    let mut wrong = key.clone();
    wrong.replace_range(30..31, if &key[30..31] == "a" { "b" } else { "a" });
    let cut = &wrong[..wrong.len() - 6];
    let wrong = format!("{cut}{}", keygate::format::checksum(cut));
    // The real secret under a checksum that does not match it.
    let mut bad_checksum = key.clone();
    let last = bad_checksum.pop().unwrap();
    bad_checksum.push(if last == 'A' { 'B' } else { 'A' });
    let attempts = [
        (wrong.clone(), "wrong secret"),
        (bad_checksum, "bad checksum"),
        (format!("{key}x"), "wrong length"),
        (key[..key.len() - 1].to_owned(), "wrong length"),
    ];
    for (attempt, why) in attempts {
        let err = gate
            .authenticate(
                &[("Authorization", format!("Bearer {attempt}"))],
                keygate::Peer::default(),
            )
            .await
            .unwrap_err();
        match why {
            "wrong secret" => assert!(matches!(err, AuthError::Invalid(_)), "{why}: {err:?}"),
            "bad checksum" => assert!(
                matches!(err, AuthError::Malformed(Malformed::Key(ParseError::BadChecksum))),
                "{why}: {err:?}"
            ),
            _ => assert!(matches!(err, AuthError::Malformed(_)), "{why}: {err:?}"),
        }
        seen.push(format!("{err:?} {err}"));
        seen.push(format!("{:?}", gate.render(&err, Some("req"))));
    }
    // Expired: a key of its own, past its expiry.
    let expiring = gate
        .mint(NewKey::new(Owner::workspace("w"), "e").expires_at(clock.now().saturating_add(HOUR)))
        .await
        .unwrap();
    let expiring_key = expiring.key.expose_secret().to_owned();
    let expiring_secret = gate.preset().format.parse(&expiring_key).unwrap().secret().to_owned();
    clock.advance(HOUR);
    let err = gate.verify(&expiring_key).await.unwrap_err();
    assert!(matches!(err, AuthError::Expired), "{err:?}");
    seen.push(format!("{err:?} {err}"));
    seen.push(format!("{:?}", gate.render(&err, Some("req"))));
    seen.push(format!("{expiring:?}"));
    gate.store()
        .update(
            &minted.record.id,
            &KeyUpdate { revoke_at: Some(Timestamp::UNIX_EPOCH), ..Default::default() },
        )
        .await
        .unwrap();
    let err = gate.verify(&key).await.unwrap_err();
    seen.push(format!("{err:?} {err}"));
    seen.push(format!("{:?}", gate.preset().format.parse(&key).unwrap()));

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("key minted")
            && logs.contains("wrong_secret")
            && logs.contains("revoked")
            && logs.contains("expired"),
        "{logs}"
    );
    seen.push(logs);
    let pepper_text = String::from_utf8_lossy(&pepper_bytes).into_owned();
    for text in &seen {
        assert!(!text.contains(&secret), "secret leaked in: {text}");
        assert!(!text.contains(&expiring_secret), "expired key's secret leaked in: {text}");
        assert!(!text.contains(&wrong[20..60]), "attempted secret leaked in: {text}");
        assert!(!text.contains(&pepper_text), "pepper leaked in: {text}");
    }
}
