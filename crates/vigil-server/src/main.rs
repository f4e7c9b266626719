//! The `vigil` binary: the command line of `vigil_server::cli`.

fn main() {
    // Two malloc arenas: memory stays flat over many large exports (see vigil-alloc).
    vigil_alloc::limit_arenas(2);
    vigil_server::cli::main();
}
