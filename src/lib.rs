//! vdx: the video dataset explorer.
//!
//! The core library: probe, packet index, frame-exact decode, clip samplers, audio. The GUI and
//! the `vdx` command line are thin layers over these functions; no egui type appears here.

pub mod augment;
pub mod cli;
pub mod dataset;
pub mod error;
pub mod error_parts;
pub mod export;
pub mod flowviz;
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "gui")]
pub mod gui;
pub mod health;
pub mod jpeg;
pub mod memory;
pub mod npy;
pub mod quality;
pub mod rng;
pub mod storage;
pub mod video;

// The video layer's modules at the crate root: the public paths the command line, the GUI,
// the Python package and the tests use (`vdx::decode::VideoDecoder`, `vdx::index::...`).
pub use video::{audio, decode, index, media, probe, sample};

pub use error::{Result, VdxError};
pub use index::{build_index, DecodeStatus, FrameEntry, FrameType, IndexOptions, VideoIndex};
pub use media::ProbeBudget;
pub use probe::{probe, ProbeInfo};
