//! The console's commands against a real store on 127.0.0.1:0: as plain functions (sessions,
//! the keyring, search, pivots, live tail, saved searches) and through Tauri's IPC on the mock
//! runtime (arguments and `{code, message}` errors as the webview sees them).

mod commands;
mod export;
mod ipc;
mod offline;
mod support;
mod trust;
