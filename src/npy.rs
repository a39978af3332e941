//! Writing NumPy `.npy` files (format version 1.0), streamed: the header first, then the data
//! in as many pieces as the caller likes, so large tensors never sit in memory whole.
//! The file is written beside its destination and renamed into place when complete.

use crate::error_parts::FileError;

type Result<T> = std::result::Result<T, FileError>;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Element types vdx writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    U8,
    I8,
    F32,
    I64,
}

impl Dtype {
    fn descr(self) -> &'static str {
        match self {
            Dtype::U8 => "|u1",
            Dtype::I8 => "|i1",
            Dtype::F32 => "<f4",
            Dtype::I64 => "<i8",
        }
    }
    pub fn size(self) -> usize {
        match self {
            Dtype::U8 | Dtype::I8 => 1,
            Dtype::F32 => 4,
            Dtype::I64 => 8,
        }
    }
}

/// The .npy header bytes for `dtype` and `shape` (C order), padded to a multiple of 64.
pub fn header(dtype: Dtype, shape: &[usize]) -> Vec<u8> {
    let shape_s = match shape.len() {
        0 => "()".to_string(),
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
        dtype.descr(),
        shape_s
    );
    let unpadded = 10 + dict.len() + 1;
    let pad = (64 - unpadded % 64) % 64;
    let hlen = dict.len() + pad + 1;
    let mut h = Vec::with_capacity(10 + hlen);
    h.extend_from_slice(b"\x93NUMPY\x01\x00");
    h.extend_from_slice(&(hlen as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.extend(std::iter::repeat_n(b' ', pad));
    h.push(b'\n');
    h
}

/// A .npy file being written; `finish` checks the byte count and renames it into place.
pub struct NpyWriter {
    dest: PathBuf,
    tmp: PathBuf,
    file: std::io::BufWriter<std::fs::File>,
    expected_bytes: u64,
    written: u64,
    /// File offsets up to which writeback has been started / waited for.
    kicked: u64,
    waited: u64,
}

/// Writeback is started every this many bytes.
const WRITEBACK_CHUNK: u64 = 32 << 20;

impl NpyWriter {
    pub fn create(dest: &Path, dtype: Dtype, shape: &[usize]) -> Result<Self> {
        let tmp = tmp_path(dest);
        let f = std::fs::File::create(&tmp).map_err(|e| FileError::write_io(&tmp, e))?;
        let mut file = std::io::BufWriter::with_capacity(1 << 20, f);
        file.write_all(&header(dtype, shape))
            .map_err(|e| FileError::write_io(dest, e))?;
        Ok(NpyWriter {
            dest: dest.to_path_buf(),
            tmp,
            file,
            expected_bytes: shape.iter().product::<usize>() as u64 * dtype.size() as u64,
            written: 0,
            kicked: 0,
            waited: 0,
        })
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.written += bytes.len() as u64;
        self.file
            .write_all(bytes)
            .map_err(|e| FileError::write_io(&self.dest, e))?;
        if self.written - self.kicked >= WRITEBACK_CHUNK {
            self.start_writeback()
                .map_err(|e| FileError::write_io(&self.dest, e))?;
        }
        Ok(())
    }

    /// Shards are hundreds of megabytes: rather than leave it all dirty in the page cache for
    /// one long fsync at the end (during which nothing else happens), start writing each
    /// chunk to disk as soon as it is complete and wait for the chunk before it. The disk
    /// then works while the next clips decode, the final fsync has little left to do, and
    /// dirty memory stays at two chunks.
    fn start_writeback(&mut self) -> std::io::Result<()> {
        self.file.flush()?;
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let fd = self.file.get_ref().as_raw_fd();
            let end = self.file.get_ref().metadata()?.len();
            // SAFETY: plain syscalls on an fd this writer owns; ranges lie inside the file.
            unsafe {
                if libc::sync_file_range(
                    fd,
                    self.kicked as i64,
                    (end - self.kicked) as i64,
                    libc::SYNC_FILE_RANGE_WRITE,
                ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                if self.kicked > self.waited
                    && libc::sync_file_range(
                        fd,
                        self.waited as i64,
                        (self.kicked - self.waited) as i64,
                        libc::SYNC_FILE_RANGE_WAIT_BEFORE
                            | libc::SYNC_FILE_RANGE_WRITE
                            | libc::SYNC_FILE_RANGE_WAIT_AFTER,
                    ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
            }
            self.waited = self.kicked;
            self.kicked = end;
        }
        #[cfg(not(target_os = "linux"))]
        {
            self.kicked = self.written;
        }
        Ok(())
    }

    pub fn write_f32(&mut self, v: &[f32]) -> Result<()> {
        let mut buf = Vec::with_capacity(v.len() * 4);
        for x in v {
            buf.extend_from_slice(&x.to_le_bytes());
        }
        self.write(&buf)
    }

    /// Flush, fsync, and rename into place. Fails (and removes the temporary file) when the
    /// data written does not match the shape.
    pub fn finish(mut self) -> Result<()> {
        if self.written != self.expected_bytes {
            let _ = std::fs::remove_file(&self.tmp);
            return Err(FileError::write(
                &self.dest,
                format!(
                    "internal error: wrote {} data bytes, shape needs {}",
                    self.written, self.expected_bytes
                ),
            ));
        }
        let r = self
            .file
            .flush()
            .and_then(|_| self.file.get_ref().sync_all())
            .and_then(|_| std::fs::rename(&self.tmp, &self.dest));
        if let Err(e) = r {
            let _ = std::fs::remove_file(&self.tmp);
            return Err(FileError::write_io(&self.dest, e));
        }
        Ok(())
    }
}

impl Drop for NpyWriter {
    fn drop(&mut self) {
        // An unfinished writer leaves nothing behind (finish renames before this runs).
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// A temporary name beside `dest` (same folder, so the final rename is atomic).
pub fn tmp_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    dest.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Write `bytes` to `dest` atomically (temporary file, fsync, rename).
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_io(dest, bytes).map_err(|e| FileError::write_io(dest, e))
}

/// [`write_atomic`] with the system's error as it is (the caller names the path).
pub(crate) fn write_atomic_io(dest: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = tmp_path(dest);
    let r = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dest)
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_readable() {
        let h = header(Dtype::U8, &[2, 16, 224, 224, 3]);
        assert_eq!(h.len() % 64, 0);
        assert_eq!(&h[..8], b"\x93NUMPY\x01\x00");
        let s = String::from_utf8_lossy(&h[10..]);
        assert!(s.contains("'shape': (2, 16, 224, 224, 3)"));
        assert!(s.ends_with('\n'));
        let h1 = header(Dtype::F32, &[7]);
        assert!(String::from_utf8_lossy(&h1).contains("'shape': (7,)"));
    }
}
