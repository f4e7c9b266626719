//! Vigil Console placeholder: the desktop app arrives with its own issue.
//! Until then this binary tells the user where the audit store is.

fn main() {
    eprintln!(
        "Vigil Console is not built yet. Start the audit store with `vigil serve` \
         (see README.md) and use its HTTP API."
    );
    std::process::exit(2);
}
