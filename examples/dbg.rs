use vdx::decode::*;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let mut d = VideoDecoder::open(std::path::Path::new(&a[1]), DecodeOptions::default()).unwrap();
    let idx = d.index().clone();
    for (i, f) in idx.frames.iter().enumerate().take(50) { eprintln!("{i} pts {} dts {:?} dec {} key {}", f.pts, f.dts, f.decode_index, f.keyframe); }
    for s in &a[2..] { let i: usize = s.parse().unwrap(); eprintln!("frame {i}: {:?}", d.frame(i).map(|f| f.pts)); }
}
