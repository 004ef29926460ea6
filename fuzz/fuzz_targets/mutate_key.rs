//! Mint a key of every preset, change one of its bytes as the input says, and verify the result:
//! it must never be accepted unless the change left the key as it was.

#![no_main]

use std::sync::OnceLock;

use keygate::Keygate;
use keygate::format::Environment;
use keygate::manage::NewKey;
use keygate::preset::Preset;
use keygate::store::Owner;
use libfuzzer_sys::fuzz_target;

struct Minted {
    gate: Keygate,
    keys: Vec<String>,
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime")
    })
}

fn minted() -> &'static [Minted] {
    static MINTED: OnceLock<Vec<Minted>> = OnceLock::new();
    MINTED.get_or_init(|| {
        runtime().block_on(async {
            let mut all = Vec::new();
            for preset in
                [Preset::productlane(), Preset::plane(), Preset::livetest(), Preset::workspace()]
            {
                let environments = if preset.format.has_environments() {
                    &[Environment::Live, Environment::Test][..]
                } else {
                    &[Environment::Live][..]
                };
                let gate = Keygate::builder(preset).random_pepper().build().expect("a gate");
                let mut keys = Vec::new();
                for &environment in environments {
                    let new = NewKey::new(Owner::workspace("wks_1"), "k").environment(environment);
                    let key = gate.mint(new).await.expect("a key");
                    let text = key.key.expose_secret().to_owned();
                    assert!(gate.verify(&text).await.is_ok());
                    keys.push(text);
                }
                all.push(Minted { gate, keys });
            }
            all
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let [which, at_hi, at_lo, how, byte, ..] = *data else {
        return;
    };
    let minted = minted();
    let set = &minted[usize::from(which) % minted.len()];
    let key = &set.keys[usize::from(which / 4) % set.keys.len()];
    let mut bytes = key.as_bytes().to_vec();
    let at = usize::from(u16::from_be_bytes([at_hi, at_lo])) % bytes.len();
    bytes[at] = match how % 3 {
        0 => bytes[at] ^ byte,
        1 => byte,
        _ => bytes[at].wrapping_add(byte),
    };
    let text = String::from_utf8_lossy(&bytes);
    if text == key.as_str() {
        return;
    }
    let verified = runtime().block_on(set.gate.verify(&text));
    assert!(verified.is_err(), "a key changed at byte {at} was accepted");
});
