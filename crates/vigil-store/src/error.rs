//! What goes wrong in a store.

/// What went wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such entry, user, session or key.
    #[error("{0} not found")]
    NotFound(String),
    /// The request contradicts what is stored (a taken name, an id stored with other content).
    #[error("{message}")]
    Conflict {
        /// What conflicts.
        message: String,
        /// The position in the batch, for appends.
        index: Option<usize>,
    },
    /// The request is malformed (a bad cursor, an unknown role or mark); `field` names what.
    #[error("{message}")]
    Invalid {
        /// What is wrong.
        message: String,
        /// The field at fault: `cursor`, `roles`, `marks`, `supersedes`.
        field: Option<&'static str>,
    },
    /// Temporarily unable to answer (the search index is being rebuilt); try again shortly.
    #[error("{0}")]
    Unavailable(String),
    /// The backend failed; not the caller's fault.
    #[error("storage failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// The request is malformed in `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        StoreError::Invalid {
            message: message.into(),
            field: Some(field),
        }
    }

    /// Wraps a backend error.
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend(Box::new(e))
    }
}
