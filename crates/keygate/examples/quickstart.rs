//! Mints a key, verifies it, then shows how keygate answers a few bad requests.
//!
//! Run it with `cargo run -p keygate --example quickstart`.

use keygate::manage::NewKey;
use keygate::preset::Preset;
use keygate::scope::Requirement;
use keygate::store::Owner;
use keygate::{AuthError, Keygate, Peer};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The livetest preset: `sk_live_` / `sk_test_` keys, Bearer, envelope errors.
    let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;

    let minted = gate
        .mint(
            NewKey::new(Owner::workspace("wks_demo"), "quickstart")
                .scopes(["tasks:read", "tasks:write"])?,
        )
        .await?;
    // The full key goes to its owner once; everything else shows only the preview.
    println!("minted {} ({}…)", minted.record.id, minted.record.preview);

    let header = format!("Bearer {}", minted.key.expose_secret());
    let principal =
        gate.authenticate(&[("Authorization", header.as_str())], Peer::default()).await?;
    println!(
        "verified: workspace {}, key {}, scopes {:?}",
        principal.workspace_id(),
        principal.key_id(),
        principal.scopes()
    );

    let delete = Requirement::all_of(["tasks:delete"])?;
    if let Err(err) = gate.authorize(&principal, &delete) {
        show(&gate, "the key lacks tasks:delete", &err);
    }

    let mut typo = minted.key.expose_secret().to_owned();
    let last = typo.pop().map_or('0', |c| if c == '0' { '1' } else { '0' });
    typo.push(last);
    for (what, value) in [
        ("no credential", None),
        ("a typo in the key (bad checksum)", Some(format!("Bearer {typo}"))),
        ("Basic auth instead of Bearer", Some("Basic dXNlcjpwYXNz".to_owned())),
    ] {
        let headers: Vec<(&str, String)> =
            value.map(|v| ("Authorization", v)).into_iter().collect();
        if let Err(err) = gate.authenticate(&headers, Peer::default()).await {
            show(&gate, what, &err);
        }
    }
    Ok(())
}

fn show(gate: &Keygate, what: &str, err: &AuthError) {
    let response = gate.render(err, Some("req_quickstart"));
    println!("{what}: {} {}", response.status, response.body);
    for (name, value) in &response.headers {
        println!("  {name}: {value}");
    }
}
