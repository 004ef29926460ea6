//! The concurrent map behind every in-memory table: lock-free reads, a fast seeded hasher.

/// A concurrent hash map keyed with foldhash.
pub(crate) type Map<K, V> = papaya::HashMap<K, V, foldhash::fast::RandomState>;

/// A new [`Map`]. Resizes block writers instead of spreading the copy over later writes: a
/// table that stops growing mid-resize would otherwise make every read search both tables.
pub(crate) fn new_map<K, V>() -> Map<K, V> {
    papaya::HashMap::builder()
        .hasher(foldhash::fast::RandomState::default())
        .resize_mode(papaya::ResizeMode::Blocking)
        .build()
}
