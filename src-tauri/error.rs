//! Errors as the UI sees them: `{code, message}` (and `column` for a query), where the code is
//! one of the few the UI branches on (docs/console.md lists them).

use serde::Serialize;
use vigil_client::ClientError;

/// An error for the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct UiError {
    /// What the UI branches on: `bad_url`, `unreachable`, `bad_credentials`, `signed_out`,
    /// `bad_query`, `not_found`, `invalid`, `server`, `keyring`.
    pub code: &'static str,
    /// For the person.
    pub message: String,
    /// For `bad_query`: the 1-based column in characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl UiError {
    /// An error with this code and message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        UiError {
            code,
            message: message.into(),
            column: None,
        }
    }

    /// Nobody is signed in (or the session ended).
    pub fn signed_out(message: impl Into<String>) -> Self {
        UiError::new("signed_out", message)
    }

    /// The caller got something wrong.
    pub fn invalid(message: impl Into<String>) -> Self {
        UiError::new("invalid", message)
    }
}

/// A query error: what is wrong, and the column apart (the UI shows "Column N: …" itself).
impl From<vigil_core::query::QueryError> for UiError {
    fn from(e: vigil_core::query::QueryError) -> Self {
        UiError {
            code: "bad_query",
            message: e.message,
            column: Some(e.column),
        }
    }
}

impl From<ClientError> for UiError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::BadUrl { url, reason } => {
                UiError::new("bad_url", format!("{url:?} is not a server address: {reason}"))
            }
            ClientError::Unreachable { url, source } => UiError::new(
                "unreachable",
                format!(
                    "Cannot reach the store at {url} ({}). Check the address and that the store is running.",
                    root_cause(&source)
                ),
            ),
            ClientError::Api {
                status: 401,
                message,
                ..
            } => UiError::signed_out(format!("Your session has ended ({message}). Sign in again.")),
            ClientError::Api {
                code,
                message,
                column,
                ..
            } if code == "bad_query" => UiError {
                code: "bad_query",
                message,
                column,
            },
            ClientError::Api {
                status: 404,
                message,
                ..
            } => UiError::new("not_found", message),
            // The store says which right is missing and whose roles lack it.
            ClientError::Api {
                status: 403,
                message,
                ..
            } => UiError::new("forbidden", message),
            ClientError::Api {
                status, message, ..
            } if (400..500).contains(&status) => UiError::invalid(message),
            // The store cannot answer yet (its search index is being built): the console shows
            // the index's progress and searches again when it is done.
            ClientError::Api {
                status: 503,
                message,
                ..
            } => UiError::new("unavailable", message),
            ClientError::Api { message, .. } => {
                UiError::new("server", format!("The store failed: {message}"))
            }
            ClientError::Interrupted(message) => UiError::new(
                "unreachable",
                format!("The store stopped sending the export before its end ({message})."),
            ),
            ClientError::Tail(message) => {
                UiError::new("server", format!("The store's live tail failed: {message}"))
            }
            ClientError::Decode(reason) => UiError::new(
                "server",
                format!("The store's answer was not understood ({reason}). Is this a Vigil store?"),
            ),
        }
    }
}

/// The innermost cause of a transport error ("Connection refused", "operation timed out"), which
/// says more than reqwest's outer "error sending request".
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
