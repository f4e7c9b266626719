//! Process-wide allocator settings for `vigil serve`.
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
}
