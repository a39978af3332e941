//! The dataset browser's thumbnail grid: first frames decoded on a worker, cached as textures.

use super::*;

/// Lazily decoded sample thumbnails (first frame, 84 px), decoded on a background thread for
/// the samples on screen, at most `CAP` kept.
#[derive(Default)]
pub(super) struct ThumbGrid {
    tx: Option<std::sync::mpsc::Sender<u64>>,
    rx: Option<std::sync::mpsc::Receiver<(u64, egui::ColorImage)>>,
    tex: std::collections::HashMap<u64, egui::TextureHandle>,
    order: std::collections::VecDeque<u64>,
    pending: std::collections::HashSet<u64>,
}

pub(super) const THUMB_CAP: usize = 1500;
pub(super) const THUMB_PX: usize = 84;

impl ThumbGrid {
    pub(super) fn start(&mut self, ds: Arc<Dataset>, ctx: &egui::Context) {
        let (tx, req) = std::sync::mpsc::channel::<u64>();
        let (rep, rx) = std::sync::mpsc::channel();
        let c = ctx.clone();
        std::thread::spawn(move || {
            let mut dec = Decoders::default();
            while let Ok(first) = req.recv() {
                // Newest requests first: they are what is on screen now.
                let mut batch = vec![first];
                while let Ok(i) = req.try_recv() {
                    batch.push(i);
                }
                for i in batch.into_iter().rev() {
                    if let Ok(img) = thumbnail(&ds, i, &mut dec) {
                        if rep.send((i, img)).is_err() {
                            return;
                        }
                    }
                }
                c.request_repaint();
            }
        });
        self.tx = Some(tx);
        self.rx = Some(rx);
    }

    pub(super) fn poll(&mut self, ctx: &egui::Context) {
        let Some(rx) = &self.rx else { return };
        while let Ok((i, img)) = rx.try_recv() {
            self.pending.remove(&i);
            let t = ctx.load_texture(format!("thumb{i}"), img, egui::TextureOptions::LINEAR);
            self.tex.insert(i, t);
            self.order.push_back(i);
            while self.order.len() > THUMB_CAP {
                if let Some(old) = self.order.pop_front() {
                    self.tex.remove(&old);
                }
            }
        }
    }

    /// The thumbnail of sample `i`, requesting it when missing.
    pub(super) fn get(&mut self, i: u64) -> Option<&egui::TextureHandle> {
        if !self.tex.contains_key(&i) && self.pending.insert(i) {
            if let Some(tx) = &self.tx {
                let _ = tx.send(i);
            }
        }
        self.tex.get(&i)
    }
}

pub(super) fn thumbnail(
    ds: &Dataset,
    i: u64,
    dec: &mut Decoders,
) -> Result<egui::ColorImage, String> {
    let c = ds.decode_clip(i, dec).map_err(|e| e.to_string())?;
    let (w, h) = (c.width, c.height);
    let f = c.frame(0);
    // Box-filter down to a square thumbnail (centre crop of the short side).
    let side = w.min(h);
    let (x0, y0) = ((w - side) / 2, (h - side) / 2);
    let mut out = Vec::with_capacity(THUMB_PX * THUMB_PX * 3);
    for ty in 0..THUMB_PX {
        for tx in 0..THUMB_PX {
            let (ya, yb) = (
                y0 + ty * side / THUMB_PX,
                y0 + ((ty + 1) * side / THUMB_PX).max(ty * side / THUMB_PX + 1),
            );
            let (xa, xb) = (
                x0 + tx * side / THUMB_PX,
                x0 + ((tx + 1) * side / THUMB_PX).max(tx * side / THUMB_PX + 1),
            );
            let mut acc = [0u32; 3];
            let mut n = 0u32;
            for y in ya..yb.min(y0 + side) {
                for x in xa..xb.min(x0 + side) {
                    let p = (y * w + x) * 3;
                    for k in 0..3 {
                        acc[k] += f[p + k] as u32;
                    }
                    n += 1;
                }
            }
            for a in acc {
                out.push((a / n.max(1)) as u8);
            }
        }
    }
    Ok(egui::ColorImage::from_rgb([THUMB_PX, THUMB_PX], &out))
}
