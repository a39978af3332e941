//! Datasets: FFCV's `.beton` layout (version 2) with three video fields, an atomic parallel
//! builder, a memory-mapped reader and verification. FORMAT.md documents every byte.

pub mod annotations;
mod backing;
pub mod build;
pub mod checks;
pub mod error;
pub mod fields;
pub mod format;
pub mod loader;
pub mod manifest;
pub mod reader;
pub mod request;
pub mod segments;
pub mod sharded;
mod structure;
pub mod verify;
pub mod verify_data;
pub mod verify_problem;
pub mod verify_rules;
pub mod verify_sample;
pub mod writer;

pub use build::{
    build, build_with_info, collect_inputs, collect_inputs_report, BuildInput, BuildOptions,
    BuildProgress, BuildReport, CollectedInputs, FieldKind, RunOptions,
};
pub use error::DatasetError;
pub use manifest::{write_manifest, Manifest, ShardSpec};
pub use reader::{DatasetFile, Decoders, SampleData, SampleMeta};
pub use request::{BuildHooks, BuildOutcome, BuildRequest};
pub use sharded::Dataset;
