//! The one HTTP error type: a precise 4xx for the caller's fault, a generic 500 (and a log line
//! with the cause) for ours. Body: `{"error": {"code", "message", "index"?, "field"?, "column"?}}`.
//!
//! Every refusal of the service layer becomes an answer here, its status decided by its
//! [`Fault`] in [`status_of`]: the one place where faults meet HTTP.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
pub use vigil_api::{ErrorBody, ErrorEnvelope};

use crate::service::{Fault, Refusal};

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Body.
    pub body: ErrorBody,
}

/// The status of a fault.
pub fn status_of(fault: Fault) -> StatusCode {
    match fault {
        Fault::Invalid => StatusCode::BAD_REQUEST,
        Fault::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Fault::Unauthenticated => StatusCode::UNAUTHORIZED,
        Fault::Forbidden => StatusCode::FORBIDDEN,
        Fault::NotFound => StatusCode::NOT_FOUND,
        Fault::Conflict => StatusCode::CONFLICT,
        Fault::Locked | Fault::Busy => StatusCode::TOO_MANY_REQUESTS,
        Fault::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Fault::Upstream => StatusCode::BAD_GATEWAY,
        Fault::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                code: code.to_owned(),
                message: message.into(),
                index: None,
                field: None,
                column: None,
            },
        }
    }

    /// 400.
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 413.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// Names the field at fault.
    pub fn at_field(mut self, field: impl Into<String>) -> Self {
        self.body.field = Some(field.into());
        self
    }

    /// Our fault: log the cause, tell the caller only that it failed.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed; the cause is in its log",
        )
    }
}

impl<E: Refusal> From<E> for ApiError {
    fn from(e: E) -> Self {
        let fault = e.fault();
        if fault == Fault::Internal {
            return ApiError::internal(&e);
        }
        let mut err = ApiError::new(status_of(fault), e.code(), e.to_string());
        err.body.field = e.field().map(str::to_owned);
        err.body.index = e.index();
        err.body.column = e.column();
        err
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let busy = self.body.code == "too_many";
        let mut response = (status, axum::Json(ErrorEnvelope { error: self.body })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"vigil\""),
            );
        }
        if status == StatusCode::SERVICE_UNAVAILABLE || busy {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}
