//! Records that a refused key is checked against when its id names no usable record, so that
//! the refusal does a found key's memory work: dereference a record that is not in the CPU's
//! caches, take and drop a reference to it, read its hash and state. Without them, a wrong
//! secret on an existing id takes measurably longer than an unknown id (the dudect test in
//! `benches/benches/timing.rs`), which would let an outsider enumerate the ids that exist.

use std::sync::Arc;

use crate::clock::Timestamp;
use crate::format::{Environment, KeyId};
use crate::hash::{KeyHash, KeyHasher};
use crate::store::{KeyRecord, Owner};

/// How many decoys: as many distinct records as a prober's unknown ids touch, so that they sit
/// in the caches as a store's records do (a few hundred KiB per gate).
const COUNT: usize = 1 << COUNT_BITS;
const COUNT_BITS: u32 = 12;

/// Each decoy sits behind a box of its own, as a hash table's entry does: a lookup that finds a
/// key reads the entry (to compare ids), then the record.
pub(crate) struct Decoys(Box<[Box<Entry>]>);

struct Entry {
    id: KeyId,
    record: Arc<KeyRecord>,
}

impl Decoys {
    /// Decoys under `hasher`'s current pepper version (the one almost every record has), with
    /// hashes that are fixed byte patterns: no secret's HMAC is one of them, short of a
    /// 2^-256 chance.
    pub(crate) fn new(hasher: &KeyHasher) -> Self {
        let version = hasher.current_version();
        let records = (0..COUNT)
            .map(|i| {
                let id = KeyId::from_raw(&format!("decoy{i:07}")).unwrap_or_else(|_| {
                    unreachable!("`decoy` and digits are base62 and 12 characters long")
                });
                let hash = KeyHash::from_bytes([(i % 251) as u8; 32]);
                let record = KeyRecord::new(
                    id,
                    hash,
                    version,
                    String::new(),
                    Owner::workspace(""),
                    Environment::Live,
                    Timestamp::from_unix_seconds(0),
                );
                Box::new(Entry { id, record: Arc::new(record) })
            })
            .collect();
        Decoys(records)
    }

    /// The decoy an unknown `id` is checked against: spread over all of them by the id's
    /// characters (random in a forged key), at a multiply's cost.
    #[inline]
    pub(crate) fn for_id(&self, id: &KeyId) -> Arc<KeyRecord> {
        let [a, b, c] = id.words();
        let mixed = (a ^ b.rotate_left(21) ^ c.rotate_left(42)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // The top bits of the product, not a division: a miss must not cost more than a hit.
        let index = (mixed >> (u64::BITS - COUNT_BITS)) as usize;
        let entry = &self.0[index & (COUNT - 1)];
        // Compared as a table compares the id it looks for with an entry's; never equal.
        std::hint::black_box(entry.id == *id);
        entry.record.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Pepper;

    #[test]
    fn unknown_ids_spread_over_decoys_that_no_secret_matches() {
        let hasher = KeyHasher::new(1, Pepper::generate().unwrap());
        let decoys = Decoys::new(&hasher);
        let mut seen = std::collections::HashSet::new();
        for raw in ["AbCdEfGh1234", "AbCdEfGh1235", "zzzzzzzzzzzz", "000000000000", "Q"] {
            let decoy = decoys.for_id(&KeyId::from_raw(raw).unwrap());
            seen.insert(decoy.id);
            let secret = "A".repeat(43);
            assert_eq!(hasher.verify(&secret, decoy.pepper_version, &decoy.hash), Ok(false));
        }
        assert_eq!(seen.len(), 5, "ids differing in one character pick other decoys: {seen:?}");
    }
}
