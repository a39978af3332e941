//! What the panels, the menu and the keyboard ask of the explorer's [`State`](super::state::State).
//!
//! A panel draws from the state and pushes commands; the app applies them once the frame is
//! drawn, in the order they came (`State::apply`). So every way to do a thing (the Play button
//! and the space bar, a click on the timeline, on a filmstrip frame or on a segment band) goes
//! through one piece of code, and tests drive the state without a window.

use std::path::PathBuf;

/// One thing asked of the explorer's state.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Open a video or dataset (a path or URL) in a new tab, or show its tab if it is open.
    Open(PathBuf),
    /// Read an annotation file and draw the segments it gives the active video.
    OpenAnnotations(PathBuf),
    /// Show video tab `k`.
    ShowVideo(usize),
    /// Show dataset tab `k`.
    ShowDataset(usize),
    /// Close video tab `k`.
    CloseVideo(usize),
    /// Show frame `frame` of the active video (clamped to its last frame); `pause` stops
    /// playback first, else playback goes on from there.
    Seek { frame: usize, pause: bool },
    /// Pause and step `n` frames (negative: back), within the video.
    Step(i64),
    /// Show the keyframe before the current frame (playback goes on).
    PrevKeyframe,
    /// Show the next keyframe (playback goes on).
    NextKeyframe,
    /// Pause at the annotated segment boundary before the current frame.
    PrevBoundary,
    /// Pause at the next annotated segment boundary.
    NextBoundary,
    /// Play, or pause (playing from the last frame starts again at the first).
    TogglePlay,
    /// Sample the clips inside annotated segment `k` of the active video (None: the whole video).
    SelectSegment(Option<usize>),
    /// Show an error in the window (what and which file).
    Error(String),
    /// Clear the errors shown.
    DismissErrors,
}

/// The commands pushed while a frame is drawn.
#[derive(Debug, Default)]
pub struct Commands(Vec<Command>);

impl Commands {
    pub fn push(&mut self, c: Command) {
        self.0.push(c);
    }
    /// Report an error in the window.
    pub fn error(&mut self, e: impl Into<String>) {
        self.0.push(Command::Error(e.into()));
    }
    /// The commands pushed so far, in order; the queue is left empty.
    pub fn take(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.0)
    }
}
