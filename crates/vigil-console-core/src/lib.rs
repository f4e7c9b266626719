//! What Vigil Console does without its window, in plain functions a desktop app or a future
//! command-line front end can call:
//!
//! - [`save`]: "Export…": an export saved to a file the user picked, with progress and cancel,
//!   complete and checked against the store's record, or nothing at all;
//! - [`querybar`]: the filter bar's clauses, to and from the query text, by vigil-core's parser;
//! - [`offline`]: answering a search, a timeline or facets from the entries the console holds,
//!   by the same query language, when the store cannot be reached.
#![forbid(unsafe_code)]

pub mod offline;
pub mod querybar;
pub mod save;

pub use save::{save_export, SaveError, SaveProgress, SaveRequest, Saved};
