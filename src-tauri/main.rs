//! Vigil Console: the desktop app auditors use to search and annotate the Vigil audit journal.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    vigil_console::run();
}
