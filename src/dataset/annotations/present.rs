//! Which of an annotation file's videos are there: the videos folder listed once per
//! sub-folder that many rows name, instead of one `stat` per video.
//!
//! A Kinetics-700 file names 650,000 videos in one folder; a `stat` each (on two cores) took
//! about 1.1 s of a 3.2 s plan, most of it the kernel's path look-up in a directory of
//! 617,000 entries (on a network file system each would be a round trip). Reading the
//! folder's entries once (0.37 s, most of it making the name table) and looking names up in
//! memory gives the same answer: an entry counts where it is a regular file, or a link to one
//! (followed, as `stat` does). Names with `.`/`..` components, and folders few rows name, are
//! looked up one by one.
//!
//! A videos folder on object storage (`s3://bucket/videos/`) is listed the same way, one
//! listing (paginated by the store) per folder any row names, however few rows name it: a
//! look-up there would be a request per video.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A folder's file names (bytes) -> a regular file (or a link to one) is there. Hashed with
/// foldhash: SipHash over 617,000 names was a third of the listing's time.
type Listing = HashMap<Vec<u8>, bool, foldhash::fast::RandomState>;

/// A folder is listed when at least this many rows name a video in it; below, each video is
/// looked up (a listing of a large folder for a few rows would cost more).
const LIST_FROM_ROWS: usize = 64;

/// The videos folder, its own entries listed on a thread of their own while the annotation
/// file is read: a Kinetics-style flat folder of 617,000 clips takes about as long to list
/// (0.45 s) as the file to parse (1 s on these two cores), and parsing uses one core. A folder
/// of class folders lists its few hundred entries here; they are used where at least
/// [`LIST_FROM_ROWS`] rows name a video at the top.
pub struct VideosFolder {
    path: PathBuf,
    top: Option<std::thread::JoinHandle<Option<Listing>>>,
}

impl VideosFolder {
    /// Start listing `path` (the listing is made as [`videos_present`] would make it).
    pub fn list_ahead(path: &Path) -> VideosFolder {
        let p = path.to_path_buf();
        let top = std::thread::Builder::new()
            .name("vdx-list-videos".into())
            .spawn(move || list_files(&p))
            .ok();
        VideosFolder {
            path: path.to_path_buf(),
            top,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// For each of `names` (paths relative to `videos`), whether a video file is there.
pub(crate) fn videos_present(videos: VideosFolder, names: &[&str]) -> Vec<bool> {
    use rayon::prelude::*;
    // (folder, file name) of a name made of plain components (no `.`, `..`, empty or
    // absolute parts), without allocating: a 650,000-row file asks 650,000 times.
    fn parts(n: &str) -> Option<(&str, &str)> {
        if n.is_empty() || n.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
            return None;
        }
        Some(n.rsplit_once('/').unwrap_or(("", n)))
    }
    // Split once: the counts below and the look-ups both need it.
    let split: Vec<Option<(&str, &str)>> = names.iter().map(|n| parts(n)).collect();
    let mut per_dir: HashMap<&str, usize> = HashMap::new();
    for (dir, _) in split.iter().flatten() {
        *per_dir.entry(dir).or_default() += 1;
    }
    // The folders worth listing, listed side by side: file name -> a regular file (or a link
    // to one) is there.
    let VideosFolder { path: videos, top } = videos;
    let remote = crate::storage::is_url(&videos);
    let list_from = if remote { 1 } else { LIST_FROM_ROWS };
    let dirs: Vec<&str> = per_dir
        .iter()
        .filter(|(&d, &rows)| rows >= list_from && !d.is_empty())
        .map(|(&d, _)| d)
        .collect();
    let mut listings: HashMap<&str, Listing> = dirs
        .par_iter()
        .filter_map(|&d| list_files(&videos.join(d)).map(|l| (d, l)))
        .collect();
    // The top folder's listing, made meanwhile; where few rows name a video there, its
    // thread is left to finish alone and each of those videos is looked up.
    if per_dir.get("").is_some_and(|&rows| rows >= list_from) {
        if let Some(top) = top.and_then(|t| t.join().ok()).flatten() {
            listings.insert("", top);
        }
    }
    names
        .par_iter()
        .zip(&split)
        .map(|(&n, parts)| {
            if let Some((dir, file)) = parts {
                if let Some(listing) = listings.get(dir) {
                    return listing.get(file.as_bytes()).copied().unwrap_or(false);
                }
            }
            if remote {
                crate::storage::size_of(&videos.join(n)).is_ok()
            } else {
                videos.join(n).is_file()
            }
        })
        .collect()
}

/// A folder's entries: name (bytes) -> whether it is a regular file (links followed). None
/// where the folder cannot be read (each name is then looked up alone, and reported missing
/// as before).
fn list_files(dir: &Path) -> Option<Listing> {
    use std::os::unix::ffi::OsStringExt;
    if crate::storage::is_url(dir) {
        // Objects directly under the prefix are files; sub-folders (common prefixes) are not.
        let (files, _) = crate::storage::list_folder(dir).ok()?;
        return Some(files.into_iter().map(|f| (f.into_bytes(), true)).collect());
    }
    let rd = std::fs::read_dir(dir).ok()?;
    let mut out = Listing::with_capacity_and_hasher(1024, Default::default());
    for e in rd {
        let e = e.ok()?;
        let ft = e.file_type().ok()?;
        let is_file = if ft.is_symlink() {
            e.path().is_file()
        } else {
            ft.is_file()
        };
        out.insert(e.file_name().into_vec(), is_file);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_and_looked_up_videos_agree_with_stat() {
        let d = tempfile::tempdir().unwrap();
        let v = d.path();
        std::fs::create_dir_all(v.join("big")).unwrap();
        std::fs::create_dir_all(v.join("small")).unwrap();
        std::fs::create_dir_all(v.join("big/folder.mp4")).unwrap();
        let mut names: Vec<String> = Vec::new();
        for k in 0..(LIST_FROM_ROWS + 10) {
            let n = format!("big/v{k}.mp4");
            if k % 3 != 0 {
                std::fs::write(v.join(&n), b"x").unwrap();
            }
            names.push(n);
        }
        std::os::unix::fs::symlink(v.join("big/v1.mp4"), v.join("big/link.mp4")).unwrap();
        std::os::unix::fs::symlink(v.join("big/v0.mp4"), v.join("big/dangling.mp4")).unwrap();
        // A top folder many rows name: listed on its own thread meanwhile.
        let mut at_top = 0;
        for k in 0..(LIST_FROM_ROWS + 6) {
            let n = format!("r{k}.mp4");
            if k % 4 != 0 {
                std::fs::write(v.join(&n), b"x").unwrap();
                at_top += 1;
            }
            names.push(n);
        }
        std::os::unix::fs::symlink(v.join("r1.mp4"), v.join("r-link.mp4")).unwrap();
        std::fs::create_dir_all(v.join("r-folder.mp4")).unwrap();
        names.extend(["r-link.mp4".into(), "r-folder.mp4".into()]);
        std::fs::write(v.join("small/a.mp4"), b"x").unwrap();
        std::fs::write(v.join("top.mp4"), b"x").unwrap();
        for n in [
            "big/link.mp4",
            "big/dangling.mp4",
            "big/folder.mp4",
            "big/../top.mp4",
            "./top.mp4",
            "small/a.mp4",
            "small/b.mp4",
            "top.mp4",
            "nowhere/x.mp4",
            "",
        ] {
            names.push(n.to_string());
        }
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let got = videos_present(VideosFolder::list_ahead(v), &refs);
        let want: Vec<bool> = refs.iter().map(|n| v.join(n).is_file()).collect();
        assert_eq!(got, want);
        // The listing path was taken for `big/` and holds the same answers.
        assert!(list_files(&v.join("big")).is_some());
        assert_eq!(
            want.iter().filter(|&&b| b).count(),
            2 * (LIST_FROM_ROWS + 10) / 3 + 5 + at_top + 1
        );
        assert_eq!(at_top, 52, "the top folder's fixture changed");
    }
}
