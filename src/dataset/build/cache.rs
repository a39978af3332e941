//! Indexes shared by the rows of one video. An annotation build gives many segments of one
//! video (EPIC-Kitchens, Charades, untrimmed Kinetics): each row is its own input, and
//! without sharing each would scan the whole file again for its index. Only videos named by
//! more than one input are kept, each until its last row is done, so memory holds the
//! indexes of the videos in flight, not of the whole list.

use crate::dataset::build::BuildInput;
use crate::video::decode::{DecodeOptions, VideoDecoder};
use crate::video::index::VideoIndex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// A video's index, built once by the first row that needs it (others wait for it).
type Slot = Arc<OnceLock<Option<Arc<VideoIndex>>>>;

pub(crate) struct IndexCache {
    /// Per shared video: rows still to finish, and its index slot.
    entries: Mutex<HashMap<PathBuf, (usize, Slot)>>,
}

impl IndexCache {
    pub(crate) fn new(inputs: &[BuildInput]) -> Self {
        let mut uses: HashMap<&Path, usize> = HashMap::new();
        for i in inputs {
            *uses.entry(i.path.as_path()).or_default() += 1;
        }
        IndexCache {
            entries: Mutex::new(
                uses.into_iter()
                    .filter(|&(_, n)| n > 1)
                    .map(|(p, n)| (p.to_path_buf(), (n, Slot::default())))
                    .collect(),
            ),
        }
    }

    /// The index of `path` if it is shared (built here by the first caller, as
    /// `VideoDecoder::open` builds it with `opts`); None for a
    /// video named once, or one whose index failed (the caller's own open reports why).
    pub(crate) fn index(&self, path: &Path, opts: &DecodeOptions) -> Option<Arc<VideoIndex>> {
        let slot = self
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
            .map(|(_, s)| s.clone())?;
        slot.get_or_init(|| VideoDecoder::index_for(path, opts).ok().map(Arc::new))
            .clone()
    }

    /// A guard that counts one row of `path` as done when dropped; the index goes with the
    /// video's last row.
    pub(crate) fn release_on_drop<'a>(&'a self, path: &'a Path) -> Release<'a> {
        Release { cache: self, path }
    }
}

pub(crate) struct Release<'a> {
    cache: &'a IndexCache,
    path: &'a Path,
}

impl Drop for Release<'_> {
    fn drop(&mut self) {
        let mut m = self.cache.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((left, _)) = m.get_mut(self.path) {
            *left -= 1;
            if *left == 0 {
                m.remove(self.path);
            }
        }
    }
}
