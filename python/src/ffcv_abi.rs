//! C functions that FFCV's jitted pipeline calls (through ctypes, as FFCV calls its own
//! `libffcv` imdecode): decode one vdx sample's bytes straight into FFCV's preallocated batch
//! memory. No Python object is touched, so numba can call them from `prange` without the GIL.
//!
//! Each returns 0 on success and 1 on failure; the failure's message is kept per process and
//! read with `vdx_ffcv_last_error` (the Python side turns it into `VdxDatasetError`). A panic
//! is caught here and reported the same way: nothing unwinds into numba's frames.

use std::cell::RefCell;
use std::sync::Mutex;
use vdx::dataset::fields;
use vdx::dataset::segments;
use vdx::dataset::writer::VideoRecord;

static LAST_ERROR: Mutex<String> = Mutex::new(String::new());

thread_local! {
    static JPEG: RefCell<Option<turbojpeg::Decompressor>> = const { RefCell::new(None) };
}

/// Why a sample could not be decoded: the core's typed error (or a check of this boundary's
/// own), turned into text only when it reaches FFCV.
type AbiError = Box<dyn std::error::Error + Send + Sync>;

fn set_error(msg: String) {
    if let Ok(mut e) = LAST_ERROR.lock() {
        *e = msg;
    }
}

/// Run `f`, turning an error or a panic into status 1 with a message naming the sample.
fn guarded(sample: u64, f: impl FnOnce() -> Result<(), AbiError>) -> i32 {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            set_error(format!("sample {sample}: {e}"));
            1
        }
        Err(_) => {
            set_error(format!("sample {sample}: the decoder panicked"));
            1
        }
    }
}

fn with_jpeg<T, E: Into<AbiError>>(
    f: impl FnOnce(&mut turbojpeg::Decompressor) -> Result<T, E>,
) -> Result<T, AbiError> {
    JPEG.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(
                turbojpeg::Decompressor::new()
                    .map_err(|e| format!("libjpeg-turbo could not start: {e}"))?,
            );
        }
        f(slot.as_mut().expect("set above")).map_err(Into::into)
    })
}

/// # Safety
/// `data` must point at `len` readable bytes; `out` at `out_len` writable bytes.
unsafe fn slices<'a>(
    data: *const u8,
    len: u64,
    out: *mut u8,
    out_len: u64,
) -> Result<(&'a [u8], &'a mut [u8]), AbiError> {
    if data.is_null() || out.is_null() {
        return Err("null buffer".into());
    }
    Ok((
        std::slice::from_raw_parts(data, len as usize),
        std::slice::from_raw_parts_mut(out, out_len as usize),
    ))
}

/// A frames-field sample (type 10) into `out`, `u8 (T, H, W, 3)`.
///
/// # Safety
/// See [`slices`].
#[no_mangle]
pub unsafe extern "C" fn vdx_ffcv_decode_frames(
    data: *const u8,
    len: u64,
    num_frames: u32,
    height: u32,
    width: u32,
    out: *mut u8,
    out_len: u64,
    sample: u64,
) -> i32 {
    guarded(sample, || {
        let (data, out) = slices(data, len, out, out_len)?;
        let n = num_frames as usize * height as usize * width as usize * 3;
        let out = out
            .get_mut(..n)
            .ok_or("the batch slot is smaller than the clip")?;
        with_jpeg(|dec| {
            fields::decode_frames_into(
                data,
                num_frames as usize,
                width as usize,
                height as usize,
                out,
                dec,
            )
        })
    })
}

/// A whole batch of frames-field samples: sample `i` (dataset index `samples[i]`) has
/// `sizes[i]` bytes at address `addrs[i]` and goes to `out + i * out_stride` (`out_stride`
/// bytes, at least T*H*W*3). Decoded on vdx's own pool (work stealing, `threads` workers) in
/// one call from FFCV's jitted code, instead of numba's static `prange` split: the batch's
/// samples differ in cost, and a static split leaves a core idle at every batch's end.
/// `status[i]` gets 0 or 1 per sample; returns the number of failures.
///
/// # Safety
/// `addrs[i]`/`sizes[i]` must describe readable buffers; `out` must hold `n * out_stride`
/// writable bytes; `addrs`, `sizes`, `samples`, `status` must hold `n` elements.
#[no_mangle]
pub unsafe extern "C" fn vdx_ffcv_decode_frames_batch(
    addrs: *const u64,
    sizes: *const u64,
    samples: *const u64,
    n: u64,
    num_frames: u32,
    height: u32,
    width: u32,
    out: *mut u8,
    out_stride: u64,
    status: *mut i32,
    threads: u32,
) -> i32 {
    use rayon::prelude::*;
    let n = n as usize;
    if addrs.is_null() || sizes.is_null() || samples.is_null() || status.is_null() || out.is_null()
    {
        set_error("null buffer".into());
        return n.max(1) as i32;
    }
    let addrs = std::slice::from_raw_parts(addrs, n);
    let sizes = std::slice::from_raw_parts(sizes, n);
    let samples = std::slice::from_raw_parts(samples, n);
    let status = std::slice::from_raw_parts_mut(status, n);
    let out = std::slice::from_raw_parts_mut(out, n * out_stride as usize);
    let (t, h, w) = (num_frames as usize, height as usize, width as usize);
    let frame_bytes = h * w * 3;
    let stride = out_stride as usize;
    if stride < t * frame_bytes {
        set_error("the batch slot is smaller than the clip".into());
        status.fill(1);
        return n as i32;
    }
    // One task per frame, not per sample: the pool's last tasks of a batch are then single
    // JPEGs, so no core waits long for another to finish a whole clip.
    let mut tasks: Vec<(usize, usize, usize, usize)> = Vec::with_capacity(n * t);
    for i in 0..n {
        let data = std::slice::from_raw_parts(addrs[i] as *const u8, sizes[i] as usize);
        match fields::frame_ranges(data, t) {
            Ok(r) => tasks.extend(r.into_iter().enumerate().map(|(k, (a, b))| (i, k, a, b))),
            Err(e) => {
                set_error(format!("sample {}: {e}", samples[i]));
                status[i] = 1;
            }
        }
    }
    let failed: Vec<std::sync::atomic::AtomicBool> = (0..n)
        .map(|i| std::sync::atomic::AtomicBool::new(status[i] != 0))
        .collect();
    let out_addr = out.as_mut_ptr() as usize;
    let pool = crate::pool(threads.max(1) as usize);
    pool.install(|| {
        tasks.par_iter().for_each(|&(i, k, a, b)| {
            use std::sync::atomic::Ordering::Relaxed;
            if failed[i].load(Relaxed) {
                return;
            }
            let data = std::slice::from_raw_parts(addrs[i] as *const u8, sizes[i] as usize);
            // SAFETY: each (sample, frame) task owns its own frame_bytes of the batch memory
            // (out + i*stride + k*frame_bytes), inside the n*stride bytes checked above.
            let dst = std::slice::from_raw_parts_mut(
                (out_addr + i * stride + k * frame_bytes) as *mut u8,
                frame_bytes,
            );
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                with_jpeg(|dec| fields::decompress_into(dec, &data[a..b], w, h, dst))
            }));
            let msg = match r {
                Ok(Ok(())) => return,
                Ok(Err(e)) => format!("sample {}: frame {k}: {e}", samples[i]),
                Err(_) => format!("sample {}: the decoder panicked", samples[i]),
            };
            failed[i].store(true, Relaxed);
            set_error(msg);
        })
    });
    for (s, f) in status.iter_mut().zip(&failed) {
        if f.load(std::sync::atomic::Ordering::Relaxed) {
            *s = 1;
        }
    }
    status.iter().filter(|&&s| s != 0).count() as i32
}

/// A segments-field sample (type 11) into `out`, `u8 (T, H, W, 3)`. `codec`: 0 h264,
/// 1 hevc, 2 vp9, 3 av1.
///
/// # Safety
/// See [`slices`].
#[no_mangle]
pub unsafe extern "C" fn vdx_ffcv_decode_segments(
    data: *const u8,
    len: u64,
    num_frames: u32,
    num_packets: u32,
    height: u32,
    width: u32,
    extradata_size: u32,
    time_base_num: u32,
    time_base_den: u32,
    codec: u32,
    out: *mut u8,
    out_len: u64,
    sample: u64,
) -> i32 {
    guarded(sample, || {
        let (data, out) = slices(data, len, out, out_len)?;
        let rec = VideoRecord::Segments {
            num_frames,
            num_packets,
            height,
            width,
            extradata_size,
            time_base_num,
            time_base_den,
        };
        let name = match codec {
            0 => "h264",
            1 => "hevc",
            2 => "vp9",
            3 => "av1",
            other => return Err(format!("unknown codec number {other}").into()),
        };
        let clip = segments::decode_all(data, &rec, &serde_json::json!({ "codec": name }))?;
        if clip.num_frames != num_frames as usize {
            return Err(format!(
                "decoded {} frames, the record says {num_frames}",
                clip.num_frames
            )
            .into());
        }
        out.get_mut(..clip.data.len())
            .ok_or("the batch slot is smaller than the clip")?
            .copy_from_slice(&clip.data);
        Ok(())
    })
}

/// A flow-field sample (type 12): keyframes into `keyframes` (`u8 (K, H, W, 3)`) and the
/// quantized flow into `flow` (`i8 (T-1, H, W, 2)`); either may be null to skip it.
///
/// # Safety
/// See [`slices`]; a null output is skipped.
#[no_mangle]
pub unsafe extern "C" fn vdx_ffcv_decode_flow(
    data: *const u8,
    len: u64,
    num_frames: u32,
    num_keyframes: u32,
    height: u32,
    width: u32,
    scale: f32,
    keyframes: *mut u8,
    keyframes_len: u64,
    flow: *mut u8,
    flow_len: u64,
    sample: u64,
) -> i32 {
    guarded(sample, || {
        if data.is_null() {
            return Err("null buffer".into());
        }
        let data = std::slice::from_raw_parts(data, len as usize);
        let f = with_jpeg(|dec| {
            fields::decode_flow(
                data,
                num_frames as usize,
                num_keyframes as usize,
                width as usize,
                height as usize,
                scale,
                dec,
            )
        })?;
        if !keyframes.is_null() {
            let out = std::slice::from_raw_parts_mut(keyframes, keyframes_len as usize);
            out.get_mut(..f.keyframes.len())
                .ok_or("the keyframe slot is smaller than the keyframes")?
                .copy_from_slice(&f.keyframes);
        }
        if !flow.is_null() {
            let out = std::slice::from_raw_parts_mut(flow, flow_len as usize);
            let q: &[u8] = bytemuck_i8(&f.flow_q);
            out.get_mut(..q.len())
                .ok_or("the flow slot is smaller than the flow")?
                .copy_from_slice(q);
        }
        Ok(())
    })
}

fn bytemuck_i8(v: &[i8]) -> &[u8] {
    // SAFETY: i8 and u8 have the same size and alignment; every bit pattern is valid.
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, v.len()) }
}

/// Copy the last failure's message into `buf` (at most `cap` bytes, no NUL); returns its full
/// length.
///
/// # Safety
/// `buf` must point at `cap` writable bytes (or be null with `cap` 0).
#[no_mangle]
pub unsafe extern "C" fn vdx_ffcv_last_error(buf: *mut u8, cap: u64) -> u64 {
    let msg = LAST_ERROR.lock().map(|e| e.clone()).unwrap_or_default();
    let n = msg.len().min(cap as usize);
    if n > 0 && !buf.is_null() {
        std::ptr::copy_nonoverlapping(msg.as_ptr(), buf, n);
    }
    msg.len() as u64
}
