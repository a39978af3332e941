//! The audio track as mono float32 at a chosen sample rate (for speech models), with writers
//! for WAV (IEEE float) and `.npy`.

use crate::video::error::{Result, VideoError};
use crate::video::media::{self, ProbeBudget};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::ffi;
use std::path::Path;

/// Decoded mono audio.
#[derive(Debug, Clone)]
pub struct MonoAudio {
    pub sample_rate: u32,
    pub samples: Vec<f32>,
    /// Warnings such as undecodable packets.
    pub warnings: Vec<String>,
}

struct Swr(*mut ffi::SwrContext);
impl Drop for Swr {
    fn drop(&mut self) {
        // SAFETY: allocated by swr_alloc_set_opts2; freed once.
        unsafe { ffi::swr_free(&mut self.0) }
    }
}

/// Decode the best audio stream of `path`, downmixed to mono and resampled to `rate` Hz.
pub fn decode_mono(path: &Path, rate: u32) -> Result<MonoAudio> {
    if !(1000..=384_000).contains(&rate) {
        return Err(VideoError::param(
            "rate",
            "must be between 1000 and 384000 Hz",
        ));
    }
    let mut ictx = media::open_input(path, &ProbeBudget::default())?;
    let (si, mut dec) = open_audio_decoder(&ictx, path)?;
    let mut mono = MonoResampler {
        path,
        rate,
        swr: None,
        out: Vec::new(),
    };
    let mut warnings = Vec::new();
    let mut frame = ffmpeg::frame::Audio::empty();
    let mut corrupt = 0usize;

    let mut pkt: ffmpeg::Packet;
    loop {
        // av_read_frame does not release what the packet held: start each read from an
        // empty packet (dropping the previous one unrefs its buffer).
        pkt = ffmpeg::Packet::empty();
        match media::read_packet(&mut pkt, &mut ictx)? {
            Ok(()) => {}
            Err(ffmpeg::Error::Eof) => break,
            Err(ffmpeg::Error::InvalidData) => continue,
            Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => continue,
            Err(e) => {
                warnings.push(format!("reading stopped early: {e}"));
                break;
            }
        }
        if pkt.stream() != si {
            continue;
        }
        if dec.send_packet(&pkt).is_err() {
            corrupt += 1;
            continue;
        }
        while dec.receive_frame(&mut frame).is_ok() {
            mono.convert(Some(&frame))?;
        }
    }
    let _ = dec.send_eof();
    while dec.receive_frame(&mut frame).is_ok() {
        mono.convert(Some(&frame))?;
    }
    mono.convert(None)?;
    if corrupt > 0 {
        warnings.push(format!("{corrupt} audio packets could not be decoded"));
    }
    let out = std::mem::take(&mut mono.out);
    if out.is_empty() {
        return Err(VideoError::decode(
            path,
            "the audio stream holds no decodable samples",
        ));
    }
    Ok(MonoAudio {
        sample_rate: rate,
        samples: out,
        warnings,
    })
}

/// The best audio stream's index and an opened decoder for it.
fn open_audio_decoder(
    ictx: &ffmpeg::format::context::Input,
    path: &Path,
) -> Result<(usize, ffmpeg::decoder::Audio)> {
    let st = ictx
        .streams()
        .best(ffmpeg::media::Type::Audio)
        .ok_or_else(|| VideoError::NoAudioStream {
            path: path.to_path_buf(),
        })?;
    let si = st.index();
    let cctx = ffmpeg::codec::context::Context::from_parameters(st.parameters())
        .map_err(|e| VideoError::decode(path, format!("audio decoder set-up failed: {e}")))?;
    let dec = cctx
        .decoder()
        .audio()
        .map_err(|e| VideoError::decode(path, format!("no decoder for this audio codec: {e}")))?;
    Ok((si, dec))
}

/// Decoded frames to mono f32 at `rate`: the resampler, set up from the first frame, and
/// the samples so far.
struct MonoResampler<'p> {
    path: &'p Path,
    rate: u32,
    swr: Option<Swr>,
    out: Vec<f32>,
}

impl MonoResampler<'_> {
    /// Resamples `frame` onto the output; `None` flushes what the resampler still holds.
    fn convert(&mut self, frame: Option<&ffmpeg::frame::Audio>) -> Result<()> {
        if self.swr.is_none() {
            let Some(f) = frame else { return Ok(()) };
            self.swr = Some(self.new_swr(f)?);
        }
        let path = self.path;
        let out = &mut self.out;
        // SAFETY: swr calls on a context we own; input planes come from the decoded frame and
        // the output buffer has room for `cap` samples.
        unsafe {
            let ctx = self
                .swr
                .as_ref()
                .map(|s| s.0)
                .unwrap_or(std::ptr::null_mut());
            let (inp, n_in) = match frame {
                Some(f) => (
                    (*f.as_ptr()).extended_data as *mut *const u8,
                    (*f.as_ptr()).nb_samples,
                ),
                None => (std::ptr::null_mut(), 0),
            };
            loop {
                let cap = ffi::swr_get_out_samples(ctx, n_in).max(1024);
                let start = out.len();
                out.resize(start + cap as usize, 0.0);
                let mut optr = out.as_mut_ptr().add(start) as *mut u8;
                let got = ffi::swr_convert(ctx, &mut optr, cap, inp, n_in);
                if got < 0 {
                    out.truncate(start);
                    return Err(VideoError::decode(path, "audio resampling failed"));
                }
                out.truncate(start + got as usize);
                // When flushing, keep pulling until the resampler is empty.
                if frame.is_some() || got == 0 {
                    break;
                }
            }
        }
        Ok(())
    }

    /// A resampler from the layout, format and rate of frame `f` to mono f32 at `rate`.
    fn new_swr(&self, f: &ffmpeg::frame::Audio) -> Result<Swr> {
        // SAFETY: swr calls on a context we own; the layouts are initialised and freed here.
        unsafe {
            let fp = f.as_ptr();
            let mut in_layout: ffi::AVChannelLayout = std::mem::zeroed();
            if (*fp).ch_layout.nb_channels > 0 {
                ffi::av_channel_layout_copy(&mut in_layout, &(*fp).ch_layout);
            } else {
                ffi::av_channel_layout_default(&mut in_layout, 1);
            }
            let mut out_layout: ffi::AVChannelLayout = std::mem::zeroed();
            ffi::av_channel_layout_default(&mut out_layout, 1);
            let mut ctx: *mut ffi::SwrContext = std::ptr::null_mut();
            let r = ffi::swr_alloc_set_opts2(
                &mut ctx,
                &mut out_layout,
                ffi::AVSampleFormat::AV_SAMPLE_FMT_FLT,
                self.rate as i32,
                &mut in_layout,
                std::mem::transmute::<i32, ffi::AVSampleFormat>((*fp).format),
                (*fp).sample_rate,
                0,
                std::ptr::null_mut(),
            );
            ffi::av_channel_layout_uninit(&mut in_layout);
            ffi::av_channel_layout_uninit(&mut out_layout);
            if r < 0 || ctx.is_null() || ffi::swr_init(ctx) < 0 {
                if !ctx.is_null() {
                    ffi::swr_free(&mut ctx);
                }
                return Err(VideoError::decode(
                    self.path,
                    "cannot set up the audio resampler",
                ));
            }
            Ok(Swr(ctx))
        }
    }
}

/// Write mono f32 samples as a WAV file (IEEE float, format tag 3), atomically.
pub fn write_wav(dest: &Path, audio: &MonoAudio) -> Result<()> {
    let data_len = (audio.samples.len() * 4) as u32;
    let mut b = Vec::with_capacity(58 + data_len as usize);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(50 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVE");
    b.extend_from_slice(b"fmt ");
    b.extend_from_slice(&18u32.to_le_bytes());
    b.extend_from_slice(&3u16.to_le_bytes()); // IEEE float
    b.extend_from_slice(&1u16.to_le_bytes()); // mono
    b.extend_from_slice(&audio.sample_rate.to_le_bytes());
    b.extend_from_slice(&(audio.sample_rate * 4).to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&32u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(b"fact");
    b.extend_from_slice(&4u32.to_le_bytes());
    b.extend_from_slice(&(audio.samples.len() as u32).to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for s in &audio.samples {
        b.extend_from_slice(&s.to_le_bytes());
    }
    crate::npy::write_atomic_io(dest, &b).map_err(|e| VideoError::write_io(dest, e))
}
