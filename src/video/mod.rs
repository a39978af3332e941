//! The video layer: everything that reads a video file. Container and stream facts
//! ([`probe`]), the packet index with picture types and decode order ([`index`]), frame-exact
//! decoding to RGB ([`decode`]), clip samplers ([`sample`]) and audio ([`audio`]). [`media`]
//! holds the FFmpeg helpers; raw FFmpeg pointers stay in this layer. Nothing here knows about
//! datasets, the command line or the GUI.

pub mod audio;
pub mod codec;
pub mod decode;
pub mod error;
pub mod index;
pub mod media;
pub mod probe;
mod remote_io;
pub mod sample;

pub use error::VideoError;
