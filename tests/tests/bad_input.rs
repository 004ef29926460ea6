//! The core's bad inputs as they arrive over HTTP, in every preset and framework.

#![allow(clippy::unwrap_used)]

use keygate_conformance::expect::{malformed, missing, plain};
use keygate_conformance::{FRAMEWORKS, PRESETS, Request, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_over_http() {
    for &framework in FRAMEWORKS {
        for preset in PRESETS {
            bad_inputs(Server::start(framework, preset).await).await;
        }
    }
}

async fn bad_inputs(s: Server) {
    let name = s.name();
    let label = s.key_header();
    let key = s.admin_key.clone();
    let bearer = s.key_header() == "Authorization";
    let ping = |rid: &str| Request::get("/v1/ping").header("X-Request-Id", rid);

    // Accepted spellings.
    if bearer {
        for value in [format!("bearer {key}"), format!("Bearer    {key}"), format!("BEARER {key}")]
        {
            let r = s.send(ping("ok").header("authorization", &value)).await;
            assert_eq!(r.status, 200, "{name}: {value:.12}");
        }
    } else {
        let r = s.send(ping("ok").header("x-api-key", &key)).await;
        assert_eq!(r.status, 200, "{name}: lower-case header name");
    }

    // Refused as malformed (401).
    let value = |k: &str| s.key_value(k);
    let short = &key[..key.len() - 1];
    let quoted = format!("\"{key}\"");
    let encoded = key.replace('_', "%5F");
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("scheme alone or empty token", if bearer { b"Bearer".to_vec() } else { b" x".to_vec() }),
        (
            "tab",
            if bearer {
                format!("Bearer\t{key}")
            } else {
                format!("{}\t{}", &key[..10], &key[10..])
            }
            .into_bytes(),
        ),
        ("non-ASCII", [value(&key).as_bytes(), "é".as_bytes()].concat()),
        ("fullwidth", value(&key).replacen('_', "\u{ff3f}", 1).into_bytes()),
        ("zero-width", format!("{}\u{200b}", value(&key)).into_bytes()),
        ("quoted", value(&quoted).into_bytes()),
        ("url-encoded", value(&encoded).into_bytes()),
        ("one short", value(short).into_bytes()),
        ("one long", value(&format!("{key}A")).into_bytes()),
        ("unknown prefix", value(&format!("zz_{}", &key[3..])).into_bytes()),
    ];
    if bearer {
        cases.push(("Basic", b"Basic dXNlcjpwYXNz".to_vec()));
        cases.push(("Token", format!("Token {key}").into_bytes()));
        cases.push(("no separator", format!("Bearer{key}").into_bytes()));
    }
    for (i, (case, raw)) in cases.into_iter().enumerate() {
        let rid = format!("b-{i}");
        let r = s.send(ping(&rid).header(label, raw)).await;
        malformed(label).check(&r, &s.preset, &rid, &format!("{name}: {case}"));
    }

    // Only in the query string: not read.
    let r = s
        .send(
            Request::get(&format!("/v1/ping?api_key={key}&access_token={key}"))
                .header("X-Request-Id", "q-1"),
        )
        .await;
    missing(label).check(&r, &s.preset, "q-1", &format!("{name}: query string"));

    // Bearer plus X-Api-Key: ambiguous, whichever the preset reads.
    let r = s.send(ping("two").bearer(&key).header("X-Api-Key", &key)).await;
    let message = "Send exactly one credential per request.";
    plain(400, "invalid_request", message, "").check(
        &r,
        &s.preset,
        "two",
        &format!("{name}: two credentials"),
    );

    // A header of 1 MiB never gets through, and never crashes the server.
    let huge = format!("{}{}", value(&key), "A".repeat(1 << 20));
    let r = s.send(ping("huge").header(label, huge)).await;
    assert!(matches!(r.status, 400 | 401 | 431), "{name}: 1 MiB header got {}", r.status);
    assert_eq!(s.send(s.with_key(ping("after"), &key)).await.status, 200, "{name}: still serving");

    // Bytes HTTP forbids in a header value are refused by the server itself.
    for bad in [&b"\0"[..], b"\r"] {
        let r = s.send(ping("ctl").header(label, [value(&key).as_bytes(), bad].concat())).await;
        assert_eq!(r.status, 400, "{name}: control byte");
    }
    s.stop().await;
}
