//! Background jobs shared by every panel and dialog: a computation on its own thread whose
//! result the UI polls, and the progress counters and cancel flag a long job shares.

use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;

/// A background computation whose result is polled.
pub struct Job<T> {
    rx: Receiver<Result<T, String>>,
}

impl<T: Send + 'static> Job<T> {
    pub fn spawn(
        ctx: &egui::Context,
        f: impl FnOnce() -> Result<T, String> + Send + 'static,
    ) -> Self {
        let (tx, rx) = channel();
        let c = ctx.clone();
        std::thread::spawn(move || {
            let _ = tx.send(f());
            c.request_repaint();
        });
        Job { rx }
    }
    /// A long job (a build, an export): when it ends, done or cancelled, the memory its
    /// worker threads freed is handed back to the system. glibc otherwise keeps it in the
    /// threads' arenas, and a window that ran a few builds would hold hundreds of megabytes
    /// it no longer uses.
    pub fn spawn_long(
        ctx: &egui::Context,
        f: impl FnOnce() -> Result<T, String> + Send + 'static,
    ) -> Self {
        Self::spawn(ctx, move || {
            let r = f();
            release_freed_memory();
            r
        })
    }
    pub fn poll(&self) -> Option<Result<T, String>> {
        self.rx.try_recv().ok()
    }
}

/// Returns memory freed by every thread to the system (glibc's `malloc_trim`).
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Shared progress of a background job: counters the job updates, a cancel flag it reads,
/// and when it started (for the jobs panel's ETA).
#[derive(Default)]
pub struct Progress {
    pub done: Arc<std::sync::atomic::AtomicUsize>,
    pub total: Arc<std::sync::atomic::AtomicUsize>,
    pub cancel: Arc<std::sync::atomic::AtomicBool>,
    started: Option<std::time::Instant>,
}

impl Progress {
    /// Reset for a new run starting now.
    pub fn begin(&mut self) {
        use std::sync::atomic::Ordering::Relaxed;
        self.started = Some(std::time::Instant::now());
        self.cancel.store(false, Relaxed);
        self.done.store(0, Relaxed);
    }
    /// (done, total), total at least 1.
    pub fn counts(&self) -> (usize, usize) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.done.load(Relaxed), self.total.load(Relaxed).max(1))
    }
    pub fn fraction(&self) -> f32 {
        let (d, t) = self.counts();
        d as f32 / t as f32
    }
    pub fn started(&self) -> Option<std::time::Instant> {
        self.started
    }
    pub fn request_cancel(&self) {
        self.cancel
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
