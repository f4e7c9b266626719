//! Embeds tauri.conf.json, the capabilities and ui/ into the console.

fn main() {
    if !std::path::Path::new("ui/vendor").is_dir() {
        println!(
            "cargo:warning=ui/vendor is missing: run `npm ci` at the top of the repository \
             (it copies the pinned chart and diff libraries), or the console's screens will not load"
        );
    }
    println!("cargo:rerun-if-changed=ui");
    tauri_build::build()
}
