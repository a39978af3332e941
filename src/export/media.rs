//! Per-sample media files: JPEG/PNG frame folders and MP4 clips (segments remuxed, other fields re-encoded).

use super::*;

/// The clip's time span in the source, seconds: first frame time to last frame end.
pub(super) fn clip_span(m: &SampleMeta) -> (f64, f64) {
    let tb = m.provenance["time_base"].as_str().unwrap_or("1/1");
    let (n, d) = tb.split_once('/').unwrap_or(("1", "1"));
    let tb = n.parse::<f64>().unwrap_or(1.0) / d.parse::<f64>().unwrap_or(1.0).max(1.0);
    let pts: Vec<f64> = m.provenance["pts"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|x| x.as_i64())
                .map(|p| p as f64 * tb)
                .collect()
        })
        .unwrap_or_default();
    let fps = m.provenance["source_fps"].as_f64().unwrap_or(30.0).max(1.0);
    let t0 = pts.iter().copied().fold(f64::INFINITY, f64::min);
    let t1 = pts.iter().copied().fold(f64::NEG_INFINITY, f64::max) + 1.0 / fps;
    if t0.is_finite() {
        (t0, t1)
    } else {
        (0.0, 0.0)
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn write_frames_folder(
    ds: &Dataset,
    i: u64,
    m: &SampleMeta,
    dir: &Path,
    ext: &str,
    o: &mut Out,
    dec: &mut Decoders,
) -> Result<usize> {
    // Frames-field JPEGs are copied as stored (no re-encode).
    if let (VideoRecord::Frames { num_frames, .. }, "jpg") = (m.record, ext) {
        let (_, data) = ds.raw_data(i)?;
        let ranges =
            fields::frame_ranges(data, num_frames as usize).map_err(|e| ds.sample_error(i, e))?;
        for (k, (a, b)) in ranges.iter().enumerate() {
            o.write(&dir.join(format!("img_{:05}.jpg", k + 1)), &data[*a..*b])?;
        }
        return Ok(ranges.len());
    }
    let save = |o: &mut Out, name: String, rgb: &[u8], w: usize, h: usize| -> Result<()> {
        let bytes = if ext == "png" {
            crate::jpeg::encode_png(rgb, w as u32, h as u32)?
        } else {
            crate::jpeg::encode_rgb(rgb, w as u32, h as u32, 95)?
        };
        o.write(&dir.join(name), &bytes)
    };
    match ds.decode(i, dec)? {
        SampleData::Clip(c) => {
            for t in 0..c.num_frames {
                save(
                    o,
                    format!("img_{:05}.{ext}", t + 1),
                    c.frame(t),
                    c.width,
                    c.height,
                )?;
            }
            Ok(c.num_frames)
        }
        SampleData::Flow(f) => {
            let n = f.width * f.height * 3;
            for (k, p) in f.keyframe_positions.iter().enumerate() {
                save(
                    o,
                    format!("img_{:05}.{ext}", p + 1),
                    &f.keyframes[k * n..(k + 1) * n],
                    f.width,
                    f.height,
                )?;
            }
            let m2 = f.width * f.height * 2;
            for t in 0..f.num_frames.saturating_sub(1) {
                let rgb = crate::flowviz::flow_to_rgb(&f.flow[t * m2..(t + 1) * m2], Some(8.0));
                let png = crate::jpeg::encode_png(&rgb, f.width as u32, f.height as u32)?;
                o.write(&dir.join(format!("flow_{:05}.png", t + 1)), &png)?;
            }
            Ok(f.keyframe_positions.len())
        }
    }
}

/// One sample as a playable MP4: segments remuxed as stored, others re-encoded.
pub(super) fn sample_mp4(
    ds: &Dataset,
    i: u64,
    opts: &ExportOptions,
    dec: &mut Decoders,
    tmp_dir: &Path,
) -> Result<Vec<u8>> {
    let (m, data) = ds.raw_data(i)?;
    let fps = if opts.fps > 0.0 {
        opts.fps
    } else {
        m.provenance["source_fps"].as_f64().unwrap_or(30.0).max(1.0)
    };
    let (rec, owned);
    let (rec_ref, bytes, codec): (&VideoRecord, &[u8], String) = match m.record {
        VideoRecord::Segments { .. } => (
            &m.record,
            data,
            ds.video_field().arguments["codec"]
                .as_str()
                .unwrap_or("h264")
                .to_string(),
        ),
        _ => {
            let frames: Vec<Vec<u8>>;
            let (w, h);
            match ds.decode(i, dec)? {
                SampleData::Clip(c) => {
                    (w, h) = (c.width, c.height);
                    frames = (0..c.num_frames).map(|t| c.frame(t).to_vec()).collect();
                }
                SampleData::Flow(f) => {
                    (w, h) = (f.width, f.height);
                    let m2 = f.width * f.height * 2;
                    frames = (0..f.num_frames.saturating_sub(1))
                        .map(|t| {
                            crate::flowviz::flow_to_rgb(&f.flow[t * m2..(t + 1) * m2], Some(8.0))
                        })
                        .collect();
                }
            }
            let views: Vec<&[u8]> = frames.iter().map(|f| f.as_slice()).collect();
            (rec, owned) = segments::encode(&views, w as u32, h as u32, fps, &opts.segment)?;
            (&rec, owned.as_slice(), opts.segment.codec.clone())
        }
    };
    remux_mp4(
        ds,
        i,
        bytes,
        rec_ref,
        &codec,
        &tmp_dir.join(format!(".{i:06}.tmp.mp4")),
    )
}

/// Write a segment's packets into an MP4 container (no re-encoding) and return its bytes.
pub(super) fn remux_mp4(
    ds: &Dataset,
    i: u64,
    data: &[u8],
    rec: &VideoRecord,
    codec: &str,
    tmp: &Path,
) -> Result<Vec<u8>> {
    let (rows, extradata) = segments::parse(data, rec).map_err(|e| ds.sample_error(i, e))?;
    let VideoRecord::Segments {
        width,
        height,
        time_base_num,
        time_base_den,
        ..
    } = *rec
    else {
        return Err(ExportError::param("segments", "not a segments record"));
    };
    if let Some(d) = tmp.parent() {
        std::fs::create_dir_all(d).map_err(|e| werr(d, e))?;
    }
    Ok(crate::video::codec::remux_mp4(
        codec,
        width,
        height,
        (time_base_num as i32, time_base_den as i32),
        extradata,
        rows.iter().map(|r| segments::packet(data, r)),
        tmp,
    )?)
}
