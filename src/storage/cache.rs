//! The process-wide cache of blocks fetched from object storage: fixed-size, aligned blocks
//! keyed by (object version, block number), least recently used dropped first, bounded in
//! bytes (`VDX_REMOTE_CACHE_MB`, 256 by default). Every reader of the same object version
//! shares it: the decoders a random-access read opens on several threads, the index scan
//! after the probe.

use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Block size: what one miss fetches at least (read-ahead fetches several).
pub(crate) const BLOCK: u64 = 256 * 1024;

struct Entry {
    data: Bytes,
    used: u64,
}

pub(crate) struct BlockCache {
    map: HashMap<(u64, u64), Entry>,
    bytes: usize,
    cap: usize,
    tick: u64,
}

impl BlockCache {
    fn new(cap: usize) -> Self {
        BlockCache {
            map: HashMap::new(),
            bytes: 0,
            cap,
            tick: 0,
        }
    }

    pub(crate) fn get(&mut self, object: u64, block: u64) -> Option<Bytes> {
        self.tick += 1;
        let tick = self.tick;
        self.map.get_mut(&(object, block)).map(|e| {
            e.used = tick;
            e.data.clone()
        })
    }

    pub(crate) fn contains(&self, object: u64, block: u64) -> bool {
        self.map.contains_key(&(object, block))
    }

    pub(crate) fn insert(&mut self, object: u64, block: u64, data: Bytes) {
        self.tick += 1;
        self.bytes += data.len();
        if let Some(old) = self.map.insert(
            (object, block),
            Entry {
                data,
                used: self.tick,
            },
        ) {
            self.bytes -= old.data.len();
        }
        while self.bytes > self.cap && self.map.len() > 1 {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| *k)
                .expect("the map is not empty");
            if let Some(e) = self.map.remove(&oldest) {
                self.bytes -= e.data.len();
            }
        }
    }

    /// Drops every block of `object` (after it changed under the reader).
    pub(crate) fn forget(&mut self, object: u64) {
        let gone: Vec<_> = self.map.keys().filter(|k| k.0 == object).copied().collect();
        for k in gone {
            if let Some(e) = self.map.remove(&k) {
                self.bytes -= e.data.len();
            }
        }
    }
}

pub(crate) fn shared() -> &'static Mutex<BlockCache> {
    static C: OnceLock<Mutex<BlockCache>> = OnceLock::new();
    C.get_or_init(|| {
        let mb = std::env::var("VDX_REMOTE_CACHE_MB")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(256);
        Mutex::new(BlockCache::new(mb.max(1) << 20))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_recently_used_blocks_go_first_within_the_bound() {
        let mut c = BlockCache::new(3 * 10);
        for b in 0..3 {
            c.insert(1, b, Bytes::from(vec![b as u8; 10]));
        }
        assert!(c.get(1, 0).is_some()); // 0 is now newer than 1 and 2
        c.insert(1, 3, Bytes::from(vec![3; 10]));
        assert!(!c.contains(1, 1), "the oldest block is dropped");
        assert!(c.contains(1, 0) && c.contains(1, 2) && c.contains(1, 3));
        assert_eq!(c.bytes, 30);
        c.insert(2, 0, Bytes::from(vec![9; 10]));
        c.forget(1);
        assert_eq!(c.map.len(), 1);
        assert_eq!(c.bytes, 10);
    }
}
