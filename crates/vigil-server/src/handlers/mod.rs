//! Request handlers, one module per resource, named after their verb.

pub mod accounts;
pub mod alerts;
pub mod events;
pub mod export;
pub mod meta;
pub mod notes;
pub mod session;
pub mod stream;
