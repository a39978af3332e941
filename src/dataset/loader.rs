//! The batch engine of a training loader, with no Python in it: the epoch's sample order, the
//! recycled batch buffers, and a batch decoded (and augmented) side by side straight into one
//! buffer. `vdx.Loader` is a thin binding over these; Rust code and the tests use them as they
//! are.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard, TryLockError};

use super::error::{DatasetError, Result};
use super::{Dataset, Decoders};
use crate::augment::{self, Recipe};

/// The order of an epoch's `n` samples: a Fisher-Yates shuffle from one SplitMix64 stream
/// seeded by (`seed`, `epoch`), the same on every machine and in every process (ranks and
/// DataLoader workers agree on it without talking).
pub fn epoch_order(n: usize, seed: u64, epoch: u64) -> Vec<u64> {
    let mut rng = crate::rng::Rng::new(
        seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03,
    );
    let mut v: Vec<u64> = (0..n as u64).collect();
    for i in (1..n).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    v
}

/// Free buffers kept per element type; more are let go (a caller that held many batches).
const POOL_KEEP: usize = 8;

/// Batch buffers handed back when their user lets go of a batch and reused for a later one:
/// an epoch allocates no new batch memory once the first batches are in use. Every lock is
/// a `try_lock`: a lock held by a parent thread at fork time must not hang a forked
/// DataLoader worker, and a missed reuse only costs an allocation.
pub struct BufferPool<T> {
    free: Mutex<Vec<Vec<T>>>,
    allocated: AtomicUsize,
    reused: AtomicUsize,
}

/// What a pool has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Buffers allocated.
    pub allocated: usize,
    /// Buffers served again after being handed back.
    pub reused: usize,
    /// Buffers waiting to be reused.
    pub free: usize,
}

impl<T: Copy + Default> Default for BufferPool<T> {
    fn default() -> Self {
        BufferPool {
            free: Mutex::new(Vec::new()),
            allocated: AtomicUsize::new(0),
            reused: AtomicUsize::new(0),
        }
    }
}

impl<T: Copy + Default> BufferPool<T> {
    /// A buffer of at least `len` elements (contents unspecified): the smallest free one
    /// that is large enough, else a new one.
    pub fn take(&self, len: usize) -> Vec<T> {
        let Some(mut free) = self.try_free() else {
            self.allocated.fetch_add(1, Relaxed);
            return vec![T::default(); len];
        };
        let best = free
            .iter()
            .enumerate()
            .filter(|(_, v)| v.len() >= len)
            .min_by_key(|(_, v)| v.len())
            .map(|(k, _)| k);
        if let Some(k) = best {
            self.reused.fetch_add(1, Relaxed);
            return free.swap_remove(k);
        }
        drop(free);
        self.allocated.fetch_add(1, Relaxed);
        vec![T::default(); len]
    }
    /// Hands a buffer back for reuse (let go when the pool already keeps enough).
    pub fn give_back(&self, v: Vec<T>) {
        if let Some(mut free) = self.try_free() {
            if free.len() < POOL_KEEP {
                free.push(v);
            }
        }
    }
    /// Allocated, reused and free buffers so far.
    pub fn stats(&self) -> PoolStats {
        PoolStats {
            allocated: self.allocated.load(Relaxed),
            reused: self.reused.load(Relaxed),
            free: self.try_free().map_or(0, |f| f.len()),
        }
    }
    fn try_free(&self) -> Option<MutexGuard<'_, Vec<Vec<T>>>> {
        match self.free.try_lock() {
            Ok(g) => Some(g),
            Err(TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }
}

/// A batch's pixels: `u8` RGB without a recipe, `f32` (the recipe's `to_float`) with one.
#[derive(Debug)]
pub enum BatchData {
    U8(Vec<u8>),
    F32(Vec<f32>),
}

/// One batch: `shape` is (B, T, H, W, 3) and covers the first elements of `data` (a pooled
/// buffer may be longer); `labels` in sample order.
#[derive(Debug)]
pub struct Batch {
    pub data: BatchData,
    pub shape: [usize; 5],
    pub labels: Vec<i64>,
}

/// One decoded (and, with a recipe, augmented) sample of a batch.
enum Item {
    U8(augment::Clip),
    F32(augment::Clip),
}

/// A batch slot a worker writes one sample into.
enum Slot<'a> {
    U8(&'a mut [u8]),
    F32(&'a mut [f32]),
}

/// Decodes (and augments) `samples` of `ds` side by side on the current rayon pool, each
/// straight into its slot of one buffer taken from `u8s` or `f32s`; the first sample fixes
/// the shape, and a sample of another shape is an error naming it. On object storage the
/// batch's bytes are fetched first, in a few concurrent requests.
pub fn load_batch(
    ds: &Dataset,
    samples: &[u64],
    recipe: Option<&Recipe>,
    epoch: u64,
    u8s: &BufferPool<u8>,
    f32s: &BufferPool<f32>,
) -> Result<Batch> {
    use rayon::prelude::*;
    let Some(&first_sample) = samples.first() else {
        return Err(DatasetError::param("samples", "at least one"));
    };
    let n = ds.len();
    if let Some(&bad) = samples.iter().find(|&&i| i >= n) {
        return Err(DatasetError::param(
            "samples",
            format!("sample {bad} is out of range: the dataset has {n} samples"),
        ));
    }
    ds.prefetch(samples)?;
    let labels: Vec<i64> = samples
        .iter()
        .map(|&i| ds.meta(i).map(|m| m.label))
        .collect::<Result<_>>()?;
    let first = item(ds, recipe, first_sample, epoch, &mut Decoders::default())?;
    let (t, h, w) = match &first {
        Item::U8(c) | Item::F32(c) => (c.t, c.h, c.w),
    };
    let per = t * h * w * 3;
    let b = samples.len();
    let write = |slot: Slot, item: Item, i: u64| -> Result<()> {
        let c = match &item {
            Item::U8(c) | Item::F32(c) => c,
        };
        if c.data.len() != per {
            return Err(DatasetError::param(
                "batch",
                format!(
                    "samples differ in shape (sample {i}: {:?}, the batch: {:?}): give a recipe \
                     that crops to one size",
                    [c.t, c.h, c.w, 3],
                    [t, h, w, 3]
                ),
            ));
        }
        match (slot, item) {
            (Slot::U8(d), Item::U8(c)) => d.copy_from_slice(&c.data),
            (Slot::F32(d), Item::F32(c)) => {
                augment::to_float_into(recipe.expect("f32 items come from a recipe"), &c, d)?
            }
            _ => unreachable!("one item kind per batch"),
        }
        Ok(())
    };
    let run = |slots: Vec<Slot>, first: Item| -> Result<()> {
        let mut slots = slots.into_iter();
        write(
            slots.next().expect("at least one slot"),
            first,
            first_sample,
        )?;
        let rest: Vec<(Slot, u64)> = slots.zip(samples[1..].iter().copied()).collect();
        rest.into_par_iter()
            .try_for_each_init(Decoders::default, |dec, (slot, i)| {
                write(slot, item(ds, recipe, i, epoch, dec)?, i)
            })
    };
    let data = if recipe.is_some() {
        let mut buf = f32s.take(b * per);
        run(
            buf[..b * per].chunks_mut(per).map(Slot::F32).collect(),
            first,
        )?;
        BatchData::F32(buf)
    } else {
        let mut buf = u8s.take(b * per);
        run(
            buf[..b * per].chunks_mut(per).map(Slot::U8).collect(),
            first,
        )?;
        BatchData::U8(buf)
    };
    Ok(Batch {
        data,
        shape: [b, t, h, w, 3],
        labels,
    })
}

/// Decodes sample `i` and applies the recipe, if any, with this thread's decoders.
fn item(
    ds: &Dataset,
    recipe: Option<&Recipe>,
    i: u64,
    epoch: u64,
    dec: &mut Decoders,
) -> Result<Item> {
    let c = ds.decode_clip_reusing(i, dec, Vec::new())?;
    let clip = augment::Clip::new(c.num_frames, c.height, c.width, c.data)?;
    Ok(match recipe {
        Some(r) => Item::F32(augment::apply(r, &clip, i, epoch)?.0),
        None => Item::U8(clip),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epoch_order_is_a_permutation_fixed_by_seed_and_epoch() {
        let a = epoch_order(1000, 7, 3);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<u64>>());
        assert_eq!(a, epoch_order(1000, 7, 3));
        assert_ne!(a, epoch_order(1000, 7, 4));
        assert_ne!(a, epoch_order(1000, 8, 3));
        assert_ne!(a, (0..1000).collect::<Vec<u64>>());
        assert!(epoch_order(0, 1, 1).is_empty());
        assert_eq!(epoch_order(1, 1, 1), vec![0]);
    }

    #[test]
    fn a_pool_serves_a_handed_back_buffer_again() {
        let p = BufferPool::<u8>::default();
        let a = p.take(100);
        let at = a.as_ptr();
        p.give_back(a);
        assert_eq!(
            p.stats(),
            PoolStats {
                allocated: 1,
                reused: 0,
                free: 1
            }
        );
        // Too small for 200: a new one; 50 fits in the kept one.
        let b = p.take(200);
        assert_eq!(p.stats().allocated, 2);
        let c = p.take(50);
        assert_eq!(c.as_ptr(), at);
        assert_eq!(p.stats().reused, 1);
        for _ in 0..20 {
            p.give_back(vec![0u8; 10]);
        }
        assert_eq!(p.stats().free, POOL_KEEP);
        drop((b, c));
    }
}
