//! The query language's parser, on any text: it never panics, an error points inside the text
//! (a 1-based column at most one past its end), and a query that parses prints to a text that
//! parses back to the same query.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_core::Query;

fuzz_target!(|text: &str| {
    match text.parse::<Query>() {
        Ok(q) => {
            let printed = q.to_string();
            let again: Query = printed
                .parse()
                .unwrap_or_else(|e| panic!("{printed:?} (printed from {text:?}) does not parse: {e}"));
            assert_eq!(again, q, "{text:?} printed as {printed:?}");
        }
        Err(e) => {
            let chars = text.chars().count();
            assert!(
                e.column >= 1 && e.column <= chars + 1,
                "column {} of {chars} characters in {text:?}",
                e.column
            );
        }
    }
});
