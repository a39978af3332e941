//! Decoding a sample for the browser: its metadata and rows of pictures.

use super::SampleView;
use crate::dataset::{Dataset, Decoders, SampleData};

pub(super) fn decode_sample(ds: &Dataset, i: u64) -> Result<SampleView, String> {
    let meta = ds.meta(i).map_err(|e| e.to_string())?;
    let mut dec = Decoders::default();
    let data = ds.decode(i, &mut dec).map_err(|e| e.to_string())?;
    let rows = match data {
        SampleData::Clip(c) => vec![(
            format!("{} frames", c.num_frames),
            (0..c.num_frames)
                .map(|t| egui::ColorImage::from_rgb([c.width, c.height], c.frame(t)))
                .collect(),
        )],
        SampleData::Flow(f) => {
            let n = f.width * f.height * 3;
            let m = f.width * f.height * 2;
            let max = f
                .flow
                .chunks_exact(2)
                .map(|p| (p[0] * p[0] + p[1] * p[1]).sqrt())
                .fold(0.0f32, f32::max)
                .max(1e-3);
            vec![
                (
                    format!(
                        "JPEG keyframes at frames {}",
                        f.keyframe_positions
                            .iter()
                            .map(|k| k.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    (0..f.keyframe_positions.len())
                        .map(|k| {
                            egui::ColorImage::from_rgb(
                                [f.width, f.height],
                                &f.keyframes[k * n..(k + 1) * n],
                            )
                        })
                        .collect(),
                ),
                (
                    format!(
                        "flow (int8 / {}), colour wheel saturating at {max:.2} px",
                        f.scale
                    ),
                    (0..f.num_frames.saturating_sub(1))
                        .map(|t| {
                            let rgb =
                                crate::flowviz::flow_to_rgb(&f.flow[t * m..(t + 1) * m], Some(max));
                            egui::ColorImage::from_rgb([f.width, f.height], &rgb)
                        })
                        .collect(),
                ),
            ]
        }
    };
    Ok(SampleView { meta, rows })
}

/// Frame indices as runs: "0–15", "0, 4, 8–11".
pub(super) fn frame_list_text(v: &serde_json::Value) -> String {
    let Some(a) = v.as_array() else {
        return v.to_string();
    };
    let idx: Vec<u64> = a.iter().filter_map(|x| x.as_u64()).collect();
    let mut parts = Vec::new();
    let mut j = 0;
    while j < idx.len() {
        let mut k = j;
        while k + 1 < idx.len() && idx[k + 1] == idx[k] + 1 {
            k += 1;
        }
        parts.push(if k > j {
            format!("{}–{}", idx[j], idx[k])
        } else {
            idx[j].to_string()
        });
        j = k + 1;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn frame_lists_read_as_runs() {
        let v = serde_json::json!([0, 1, 2, 3, 7, 9, 10, 10]);
        assert_eq!(super::frame_list_text(&v), "0–3, 7, 9–10, 10");
        assert_eq!(super::frame_list_text(&serde_json::json!([])), "");
    }
}
