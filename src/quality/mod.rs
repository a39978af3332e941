//! What encoding did to the pictures: stored samples measured against their source frames.
//!
//! - [`metrics`]: PSNR, SSIM and EPE, as FFmpeg's `psnr` and `ssim` filters define them.
//! - [`compare`]: one sample against its source (the explorer's comparison view).
//! - [`field_compare`]: the three fields built and measured on the user's videos
//!   (`vdx compare-fields`).
//! - [`pass`]: every sample of a dataset, in parallel, with progress and cancel
//!   (`vdx quality`, the explorer's quality pass).

pub mod error;
pub use error::QualityError;

pub mod compare;
pub mod field_compare;
pub mod metrics;
pub mod pass;

pub use compare::{compare_sample, Comparison, FrameQuality, SampleQuality, SourceFinder};
pub use pass::{quality_pass, PassOptions, QualityReport};
