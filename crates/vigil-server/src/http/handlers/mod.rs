//! Request handlers, one module per resource, named after their verb. Each turns the request
//! into the arguments of one service function (`crate::service`) and its answer into JSON.

pub mod accounts;
pub mod alerts;
pub mod annotations;
pub mod events;
pub mod export;
pub mod integrity;
pub mod meta;
pub mod senders;
pub mod session;
pub mod stream;
