//! vdx: the video dataset explorer.
//!
//! The core library: probe, packet index, frame-exact decode, clip samplers, audio. The GUI and
//! the `vdx` command line are thin layers over these functions; no egui type appears here.

pub mod cli;
pub mod decode;
pub mod error;
pub mod index;
pub mod media;
pub mod probe;

pub use error::{Result, VdxError};
pub use index::{build_index, FrameEntry, FrameType, IndexOptions, VideoIndex};
pub use media::ProbeBudget;
pub use probe::{probe, ProbeInfo};
