//! The `vigil` binary: the command line of `vigil_server::cli`.

fn main() {
    vigil_server::cli::main();
}
