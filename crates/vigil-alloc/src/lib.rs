//! Process-wide settings for `vigil serve`: the allocator's arenas, giving freed memory back,
//! and the priority of background threads (the one place of the server that calls into the C
//! library).
//!
//! # Arenas
//!
//! glibc's malloc gives threads their own arenas, up to eight per core, and an arena keeps the
//! memory freed into it. The server's work moves between many threads (the async workers, the
//! blocking pool that reads SQLite and encodes exports), so a series of large exports spread
//! their buffers over a dozen arenas and the process's memory kept growing with each one (145 MB
//! after ten 1M-row exports, against 95 MB with two arenas, at the same speed; docs/exports.md).

/// Caps the C allocator at `arenas` arenas, unless the operator chose a number with
/// `MALLOC_ARENA_MAX`. Call it first thing in `main`, before any thread starts. Returns whether
/// the setting took (it does only with glibc; elsewhere it does nothing).
pub fn limit_arenas(arenas: i32) -> bool {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return false;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes a parameter of glibc's allocator; it takes no pointers
        // and is called before other threads exist.
        #[allow(unsafe_code)]
        let set = unsafe { libc::mallopt(libc::M_ARENA_MAX, arenas) };
        set == 1
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        let _ = arenas;
        false
    }
}

/// Hands the memory that the C allocator keeps after frees back to the system (glibc's
/// `malloc_trim`). glibc returns freed memory only from the top of an arena; after a burst of
/// work (the search index built for a million entries, a large export) a hundred megabytes can
/// stay with the process, free but resident. Call it when such work ends: it takes a few
/// milliseconds. Returns whether any memory went back (glibc only; elsewhere it does nothing).
pub fn release_free_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim takes a plain integer and locks the arenas it walks itself.
        #[allow(unsafe_code)]
        let released = unsafe { libc::malloc_trim(0) };
        released == 1
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

/// Lowers the calling thread's CPU priority by `nice` steps (Linux: its nice value; threads it
/// starts from now on inherit it). For work that may wait while the machine is busy with what a
/// user waits for: the search index following ingest yields the cores to the senders' batches
/// and to searches, and catches up when they pause. Returns whether it took (Linux only).
pub fn background_thread(nice: i32) -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid takes no arguments; setpriority takes plain integers. On Linux,
        // PRIO_PROCESS with a thread id sets that one thread's nice value.
        #[allow(unsafe_code)]
        let set = unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            let now = libc::getpriority(libc::PRIO_PROCESS, tid);
            libc::setpriority(libc::PRIO_PROCESS, tid, (now + nice).min(19))
        };
        set == 0
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = nice;
        false
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_arena_limit_takes_on_glibc() {
        let took = super::limit_arenas(2);
        let chosen = std::env::var_os("MALLOC_ARENA_MAX").is_some();
        assert_eq!(
            took,
            !chosen && cfg!(all(target_os = "linux", target_env = "gnu"))
        );
    }

    /// The process's resident anonymous memory, in kB.
    fn anonymous_kb() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("RssAnon:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn freed_memory_goes_back_to_the_system() {
        // Many small blocks (below glibc's mmap threshold, so they live in the heap), then all
        // freed but the last, which pins the top of the heap: glibc keeps the rest resident.
        let blocks: Vec<Vec<u8>> = (0..40_000).map(|i| vec![i as u8; 4000]).collect();
        let pin = vec![1u8; 4000];
        drop(blocks);
        let kept = anonymous_kb();
        assert!(super::release_free_memory(), "memory was released");
        let after = anonymous_kb();
        assert!(
            after + 100_000 < kept,
            "{kept} kB before, {after} kB after: about 160 MB freed should have gone back"
        );
        drop(pin);
    }

    /// This thread's nice value, from /proc (field 19 of its stat, after the name in brackets).
    fn nice() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        after_name.split(' ').nth(16).unwrap().parse().unwrap()
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_background_thread_runs_at_a_lower_priority_and_its_children_too() {
        let before = nice();
        let (took, own, child) = std::thread::spawn(|| {
            let took = super::background_thread(5);
            let child = std::thread::spawn(nice).join().unwrap();
            (took, nice(), child)
        })
        .join()
        .unwrap();
        assert!(took);
        assert_eq!(own, (before + 5).min(19));
        assert_eq!(child, own, "threads it starts inherit it");
        assert_eq!(nice(), before, "only the thread that asked is changed");
    }
}
