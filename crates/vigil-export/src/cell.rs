//! Formula-injection protection (OWASP ASVS 1.2.10, CWE-1236).
//!
//! Spreadsheet programs run a cell that starts with `=`, `+`, `-` or `@` as a formula, and some
//! also after a leading tab, carriage return or NUL. In CSV the only protection is to change the
//! text: [`neutralize`] adds one `'` in front of such a cell. So that the change can always be
//! undone exactly, a cell that already starts with `'` gets one too: [`restore`] removes one
//! leading `'` from any cell that has it, and gives back the original value.
//!
//! ```
//! use vigil_export::cell::{neutralize, restore};
//! assert_eq!(neutralize("=1+2"), "'=1+2");
//! assert_eq!(neutralize("'quoted"), "''quoted");
//! assert_eq!(neutralize("plain"), "plain");
//! assert_eq!(restore(&neutralize("@SUM(A1)")), "@SUM(A1)");
//! ```

use std::borrow::Cow;

/// The characters that make a spreadsheet read a cell as a formula when they come first.
pub const FORMULA_STARTS: &[char] = &['=', '+', '-', '@', '\t', '\r', '\0'];

/// Whether a spreadsheet could take this text for a formula.
pub fn is_dangerous(text: &str) -> bool {
    text.starts_with(FORMULA_STARTS)
}

/// The CSV form of a text cell: `'` added in front of a dangerous cell or one that starts
/// with `'`; anything else unchanged.
pub fn neutralize(text: &str) -> Cow<'_, str> {
    if is_dangerous(text) || text.starts_with('\'') {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The original value of a CSV text cell written with [`neutralize`].
pub fn restore(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn neutralized_text_is_never_a_formula_and_restores_exactly(s in "\\PC*|[=+\\-@\t\r\0'].*") {
            let n = neutralize(&s);
            prop_assert!(!is_dangerous(&n), "{n:?} could run as a formula");
            prop_assert_eq!(restore(&n), s.as_str());
        }
    }

    #[test]
    fn each_dangerous_start_is_covered() {
        for c in ['=', '+', '-', '@', '\t', '\r', '\0'] {
            let s = format!("{c}cmd|' /C calc'!A0");
            assert_eq!(neutralize(&s), format!("'{s}"));
        }
        assert_eq!(neutralize(""), "");
        assert_eq!(neutralize(" =1"), " =1", "a leading space is not a formula");
    }
}
