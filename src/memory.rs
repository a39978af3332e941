//! How the process's allocator treats freed memory.
//!
//! Reading a few frames allocates and frees the same large blocks over and over: FFmpeg's
//! picture pools for each decoder, one RGB buffer per frame, the batch they are copied into.
//! glibc's allocator gives the top of its heap back to the system as soon as more than its
//! trim threshold is free there, and takes it back (with a page fault for every 4 KiB page
//! touched again) on the next request. On a 26-frame 400x300 AVI read whole through Python,
//! that churn was about 6,900 page faults a call (`perf stat -e page-faults`: `brk` up and
//! down 54 times), and the kernel's share of the time 41%: 32 ms a call against 17 ms with
//! freed memory kept. Large decodes hardly notice; small files are dominated by it.
//!
//! [`keep_freed_memory`] raises glibc's trim threshold to 256 MiB and fixes its mmap threshold
//! at 32 MiB (glibc's own upper bound for the one it adjusts by itself), so up to 256 MiB of
//! freed heap stays with the process for the next read instead of going back to the system.
//! The front ends call it once at start (the `vdx` binary, the Python module); the library's
//! functions never do. It changes nothing where the user has tuned malloc already
//! (`MALLOC_TRIM_THRESHOLD_`, `MALLOC_MMAP_THRESHOLD_`, or malloc entries in `GLIBC_TUNABLES`),
//! where `VDX_MALLOC_TUNING=off` is set, or on a C library other than glibc.

/// Freed heap kept by the process before any is given back to the system.
pub const TRIM_THRESHOLD: usize = 256 << 20;
/// Allocations from this size on are mapped on their own (and unmapped when freed).
pub const MMAP_THRESHOLD: usize = 32 << 20;

/// Whether `keep_freed_memory` changes the allocator, given the environment: not when the user
/// opted out or tuned malloc themselves.
pub fn tuning_wanted(env: impl Fn(&str) -> Option<String>) -> bool {
    if env("VDX_MALLOC_TUNING").is_some_and(|v| matches!(v.as_str(), "off" | "0" | "no")) {
        return false;
    }
    let user_tuned = env("MALLOC_TRIM_THRESHOLD_").is_some()
        || env("MALLOC_MMAP_THRESHOLD_").is_some()
        || env("GLIBC_TUNABLES").is_some_and(|t| t.contains("malloc"));
    !user_tuned
}

/// Keep freed memory in the process (see the module's text). Returns whether the allocator
/// was changed.
pub fn keep_freed_memory() -> bool {
    if !tuning_wanted(|k| std::env::var(k).ok()) {
        return false;
    }
    set_thresholds()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_thresholds() -> bool {
    // SAFETY: mallopt only stores the two parameters under the allocator's own lock; both
    // values are within the ranges glibc accepts (it returns 0 and changes nothing otherwise).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD as libc::c_int) == 1
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_thresholds() -> bool {
    false
}

/// Give the freed memory of every allocator arena back to the system now: after a large
/// piece of work on several threads whose results the calling thread holds on (each thread
/// allocates from its own arena, and what is freed there is not reused by the others). A
/// Kinetics-sized annotation file parsed side by side held 110 MB of freed pieces otherwise.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn give_back_freed() {
    // SAFETY: malloc_trim takes the allocator's own locks; any padding argument is valid.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn give_back_freed() {}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn tuning_is_left_to_a_user_who_tuned_malloc_or_opted_out() {
        assert!(tuning_wanted(env_of(&[])));
        assert!(tuning_wanted(env_of(&[("VDX_MALLOC_TUNING", "on")])));
        assert!(!tuning_wanted(env_of(&[("VDX_MALLOC_TUNING", "off")])));
        assert!(!tuning_wanted(env_of(&[("MALLOC_TRIM_THRESHOLD_", "1")])));
        assert!(!tuning_wanted(env_of(&[("MALLOC_MMAP_THRESHOLD_", "1")])));
        assert!(!tuning_wanted(env_of(&[(
            "GLIBC_TUNABLES",
            "glibc.malloc.trim_threshold=1"
        )])));
        assert!(tuning_wanted(env_of(&[(
            "GLIBC_TUNABLES",
            "glibc.pthread.rseq=0"
        )])));
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibc_accepts_the_thresholds() {
        assert!(set_thresholds());
    }
}
