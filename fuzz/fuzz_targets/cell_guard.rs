//! The spreadsheet cell guard, on any text: a neutralized cell never starts like a formula,
//! restores to the text exactly, and a harmless text is left as it is.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_export::cell::{is_dangerous, neutralize, restore};

fuzz_target!(|text: &str| {
    let cell = neutralize(text);
    assert!(!is_dangerous(&cell), "{cell:?} could run as a formula");
    assert_eq!(restore(&cell), text);
    if !is_dangerous(text) && !text.starts_with('\'') {
        assert_eq!(cell, text, "a harmless text is left as it is");
    }
});
