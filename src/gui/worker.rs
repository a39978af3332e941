//! Background work for one open video: probe and index, exact frames on request, and a
//! low-resolution frame cache filled in the background so scrubbing shows the nearest frame
//! at once. The UI thread only sends requests and polls results; it never waits.

use crate::video::decode::{DecodeOptions, Resize, ResizeMode, RgbFrame, VideoDecoder};
use crate::video::index::{IndexOptions, VideoIndex};
use crate::video::probe::ProbeInfo;
use crate::video::sample::{Clip, SamplerConfig};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};

/// Long side of cached preview frames, in pixels.
pub const THUMB_SIDE: u32 = 256;
/// Byte budget of the preview cache per video.
pub const THUMB_BUDGET_BYTES: usize = 48 << 20;

/// What the UI asks for.
pub enum Request {
    /// The exact frame `index` at display size.
    Frame(usize),
    /// Sample clips (inside the frames given, else over the video) and decode them at `size`
    /// for the filmstrip.
    Clips(SamplerConfig, u32, Option<std::ops::Range<usize>>),
}

/// What comes back.
pub enum Reply {
    Opened {
        probe: Box<ProbeInfo>,
        index: Arc<VideoIndex>,
    },
    Frame(RgbFrame),
    Clips(Vec<(Clip, Vec<RgbFrame>)>),
    Error(String),
}

/// The shared preview cache: frame index -> low-res frame.
#[derive(Default)]
pub struct ThumbCache {
    pub frames: BTreeMap<usize, RgbFrame>,
    pub bytes: usize,
    /// Every how many frames a preview is kept.
    pub step: usize,
    pub done: bool,
    /// Once the background pass has decoded the whole video: the frames it could not
    /// decode, or whose pictures the decoder flagged as damaged (concealed errors).
    pub damaged: Option<Vec<usize>>,
}

impl ThumbCache {
    /// The cached frame nearest to `i` at or before it (else after it).
    pub fn nearest(&self, i: usize) -> Option<&RgbFrame> {
        self.frames
            .range(..=i)
            .next_back()
            .or_else(|| self.frames.range(i..).next())
            .map(|(_, f)| f)
    }
}

/// Handle to a video's worker threads.
pub struct VideoWorker {
    tx: Sender<Request>,
    rx: Receiver<Reply>,
    pub thumbs: Arc<Mutex<ThumbCache>>,
    cancel: Arc<AtomicBool>,
}

impl Drop for VideoWorker {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl VideoWorker {
    /// Start working on `path`; `wake` is called whenever a reply is ready (request a repaint).
    pub fn spawn(path: PathBuf, display_max: u32, wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        let (tx, req_rx) = channel::<Request>();
        let (rep_tx, rx) = channel::<Reply>();
        let thumbs = Arc::new(Mutex::new(ThumbCache::default()));
        let cancel = Arc::new(AtomicBool::new(false));
        let (t2, c2) = (thumbs.clone(), cancel.clone());
        std::thread::Builder::new()
            .name("vdx-video".into())
            .spawn(move || run(path, display_max, req_rx, rep_tx, t2, c2, wake))
            .expect("spawn a worker thread");
        VideoWorker {
            tx,
            rx,
            thumbs,
            cancel,
        }
    }

    pub fn request(&self, r: Request) {
        let _ = self.tx.send(r);
    }

    /// Replies ready now (never blocks).
    pub fn poll(&self) -> Vec<Reply> {
        let mut v = Vec::new();
        loop {
            match self.rx.try_recv() {
                Ok(r) => v.push(r),
                Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => return v,
            }
        }
    }
}

/// The even size with long side `side` and the aspect of `w`×`h`.
pub(crate) fn fit_to(w: u32, h: u32, side: u32) -> Resize {
    let s = side as f64 / w.max(h).max(1) as f64;
    Resize {
        width: ((w as f64 * s).round() as u32).max(2) & !1,
        height: ((h as f64 * s).round() as u32).max(2) & !1,
        mode: ResizeMode::Squash,
    }
}

/// `fit_to`, or None where the picture is already no larger.
fn fit(w: u32, h: u32, side: u32) -> Option<Resize> {
    (w.max(h) > side).then(|| fit_to(w, h, side))
}

fn run(
    path: PathBuf,
    display_max: u32,
    rx: Receiver<Request>,
    tx: Sender<Reply>,
    thumbs: Arc<Mutex<ThumbCache>>,
    cancel: Arc<AtomicBool>,
    wake: Arc<dyn Fn() + Send + Sync>,
) {
    let send = |r: Reply| {
        let _ = tx.send(r);
        wake();
    };
    let probe = match crate::video::probe::probe(&path, &Default::default()) {
        Ok(p) => p,
        Err(e) => return send(Reply::Error(e.to_string())),
    };
    let index = match crate::video::index::build_index(&path, &IndexOptions::default()) {
        Ok(i) => Arc::new(i),
        Err(e) => return send(Reply::Error(e.to_string())),
    };
    let (dw, dh) = probe
        .best_video()
        .map(|v| {
            (
                v.display_width.unwrap_or(640),
                v.display_height.unwrap_or(360),
            )
        })
        .unwrap_or((640, 360));
    send(Reply::Opened {
        probe: Box::new(probe),
        index: index.clone(),
    });
    // Preview cache on its own thread and decoder.
    {
        let (path, index, thumbs, cancel, wake) = (
            path.clone(),
            index.clone(),
            thumbs.clone(),
            cancel.clone(),
            wake.clone(),
        );
        let _ = std::thread::Builder::new()
            .name("vdx-thumbs".into())
            .spawn(move || fill_thumbs(path, index, fit(dw, dh, THUMB_SIDE), thumbs, cancel, wake));
    }
    let mut dec = match VideoDecoder::with_index(
        &path,
        index.clone(),
        DecodeOptions {
            resize: fit(dw, dh, display_max),
            ..Default::default()
        },
    ) {
        Ok(d) => d,
        Err(e) => return send(Reply::Error(e.to_string())),
    };
    while let Ok(first) = rx.recv() {
        if cancel.load(Ordering::Relaxed) {
            return;
        }
        // Only the newest frame request matters (scrubbing sends many).
        let mut reqs = vec![first];
        while let Ok(r) = rx.try_recv() {
            reqs.push(r);
        }
        let last_frame = reqs.iter().rposition(|r| matches!(r, Request::Frame(_)));
        for (k, r) in reqs.into_iter().enumerate() {
            match r {
                Request::Frame(i) if Some(k) == last_frame => match dec.frame(i) {
                    Ok(f) => send(Reply::Frame(f)),
                    Err(e) => send(Reply::Error(e.to_string())),
                },
                Request::Frame(_) => {}
                Request::Clips(cfg, size, range) => {
                    let clips = match range {
                        Some(r) => crate::video::sample::sample_clips_in(&index, r, &cfg),
                        None => crate::video::sample::sample_clips(&index, &cfg),
                    };
                    let r = clips.and_then(|clips| {
                        let mut d = VideoDecoder::with_index(
                            &path,
                            index.clone(),
                            DecodeOptions {
                                resize: Some(Resize {
                                    width: size,
                                    height: size,
                                    mode: ResizeMode::ShortSideCrop,
                                }),
                                ..Default::default()
                            },
                        )?;
                        let shown: Vec<Clip> = clips.into_iter().take(8).collect();
                        let frames = crate::video::sample::decode_clips(&mut d, &shown)?;
                        Ok(shown.into_iter().zip(frames).collect())
                    });
                    match r {
                        Ok(v) => send(Reply::Clips(v)),
                        Err(e) => send(Reply::Error(e.to_string())),
                    }
                }
            }
        }
    }
}

fn fill_thumbs(
    path: PathBuf,
    index: Arc<VideoIndex>,
    resize: Option<Resize>,
    thumbs: Arc<Mutex<ThumbCache>>,
    cancel: Arc<AtomicBool>,
    wake: Arc<dyn Fn() + Send + Sync>,
) {
    let n = index.len().max(1);
    let per = resize
        .map(|r| (r.width * r.height * 3) as usize)
        .unwrap_or(THUMB_SIDE as usize * THUMB_SIDE as usize * 3);
    let step = (n * per).div_ceil(THUMB_BUDGET_BYTES).max(1);
    thumbs.lock().unwrap_or_else(|e| e.into_inner()).step = step;
    let Ok(mut d) = VideoDecoder::with_index(
        &path,
        index,
        DecodeOptions {
            resize,
            threads: 1,
            ..Default::default()
        },
    ) else {
        return;
    };
    let mut count = 0usize;
    // The pass decodes every frame in order, as a sequential decode does: a frame that does
    // not come out is damaged, which the timeline shows.
    let mut decoded = vec![false; n];
    let _ = d.for_each_frame(&mut |f| {
        if cancel.load(Ordering::Relaxed) {
            return false;
        }
        if let Some(seen) = decoded.get_mut(f.index) {
            *seen = true;
        }
        if f.index % step == 0 {
            let mut t = thumbs.lock().unwrap_or_else(|e| e.into_inner());
            t.bytes += f.data.len();
            t.frames.insert(f.index, f);
            count += 1;
            if count % 16 == 0 {
                wake();
            }
        }
        true
    });
    let mut t = thumbs.lock().unwrap_or_else(|e| e.into_inner());
    t.done = true;
    if !cancel.load(Ordering::Relaxed) {
        t.damaged = Some((0..n).filter(|&i| !decoded[i]).collect());
    }
    drop(t);
    wake();
}
