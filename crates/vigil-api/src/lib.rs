//! The shapes of the Vigil audit store's HTTP API: what requests carry and what answers hold.
//! The server reads and writes them (and generates its OpenAPI document from them, feature
//! `openapi`); vigil-client and Vigil Console read and write the same types, so a client needs
//! this crate and vigil-core, never the storage contract.
//!
//! ```
//! let page: vigil_api::EventsPage =
//!     serde_json::from_str(r#"{"events": [], "next_cursor": null}"#).unwrap();
//! assert!(page.events.is_empty());
//! let err: vigil_api::ErrorEnvelope = serde_json::from_str(
//!     r#"{"error": {"code": "bad_query", "message": "q: column 9: section: needs a value", "column": 9}}"#,
//! ).unwrap();
//! assert_eq!(err.error.column, Some(9));
//! ```
#![forbid(unsafe_code)]

pub mod accounts;
pub mod alerts;
pub mod annotations;
pub mod error;
pub mod integrity;
pub mod journal;
pub mod senders;
mod time;

pub use accounts::*;
pub use alerts::*;
pub use annotations::*;
pub use error::*;
pub use integrity::*;
pub use journal::*;
pub use senders::*;
