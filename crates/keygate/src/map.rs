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

/// How many locks a [`Sharded`] map spreads its keys over: a power of two, enough that two
/// cores rarely want the same one.
const SHARDS: usize = 64;

/// A map of small per-key entries that a request updates: one lock per group of keys instead
/// of a lock-free map and a lock per entry. An update takes the shard's lock and writes the
/// entry in place, with two atomic operations in all (lock and unlock) and no pointer to
/// follow past the shard's table.
pub(crate) struct Sharded<K, V> {
    shards: Box<[Shard<K, V>]>,
    /// Picks the shard; seeded apart from the tables' own hasher, so that the keys of one
    /// shard spread over its table.
    hasher: foldhash::fast::RandomState,
}

type Table<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// One shard, on a cache line of its own.
#[repr(align(64))]
struct Shard<K, V>(std::sync::Mutex<Table<K, V>>);

impl<K: std::hash::Hash + Eq, V> Sharded<K, V> {
    pub(crate) fn new() -> Self {
        let shards = (0..SHARDS)
            .map(|_| Shard(std::sync::Mutex::new(Table::with_hasher(Default::default()))))
            .collect();
        Sharded { shards, hasher: Default::default() }
    }

    /// The table holding `key`, locked.
    #[inline]
    pub(crate) fn lock(&self, key: &K) -> std::sync::MutexGuard<'_, Table<K, V>> {
        use std::hash::BuildHasher;
        let shard = (self.hasher.hash_one(key) >> 58) as usize % SHARDS;
        lock(&self.shards[shard].0)
    }

    /// Runs `f` on each shard's table in turn, each locked while `f` runs.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&mut Table<K, V>)) {
        for shard in self.shards.iter() {
            f(&mut lock(&shard.0));
        }
    }

    /// How many entries it holds (each shard counted at a different moment).
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(&s.0).len()).sum()
    }

    /// Whether it holds no entry.
    pub(crate) fn is_empty(&self) -> bool {
        self.shards.iter().all(|s| lock(&s.0).is_empty())
    }
}

/// The entries are plain counters: a panic elsewhere cannot leave one half-written in a way a
/// later request would misread, so a poisoned lock is taken as it is.
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
