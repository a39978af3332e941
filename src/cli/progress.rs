//! What the long CLI commands share: Ctrl-C as a cancel flag, and the progress bar.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub(crate) fn ctrl_c_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    // A second handler cannot be installed (tests call run() repeatedly): then Ctrl-C just
    // ends the process, which leaves no output file either.
    let _ = ctrlc::set_handler(move || f.store(true, Ordering::SeqCst));
    flag
}

pub(crate) fn bar(len: u64, quiet: bool, what: &str) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len);
    pb.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{what} [{{bar:30}}] {{pos}}/{{len}} {{msg}} ({{elapsed}}, ETA {{eta}})"
        ))
        .expect("valid template")
        .progress_chars("=> "),
    );
    pb
}
