//! The HTTP API: the whole route table, the OpenAPI document generated from the same handlers
//! and the wire types, the extractors ([`extract`]) and the one error type ([`error`]).

pub mod error;
pub mod extract;
pub mod handlers;

use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;
use error::ApiError;
use handlers::{
    accounts, alerts, annotations, events, export, integrity, meta, senders, session, stream,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Vigil audit store", description = "Ingest, search, timeline and facets over the Vigil audit journal."),
    modifiers(&BearerAuth),
    tags((name = "events", description = "The journal"), (name = "auth", description = "Sessions"), (name = "annotations", description = "Comments and marks on entries, and the marks catalog"), (name = "incidents", description = "Incidents: entries gathered with notes"), (name = "alerts", description = "Alert channels, rules and deliveries (the alerts right)"), (name = "accounts", description = "Users, roles and ingest keys (the accounts right)"), (name = "integrity", description = "Tamper evidence: the signing key, signed checkpoints and Merkle proofs"), (name = "senders", description = "Who sends, how much, and the numbers of theirs that never arrived"), (name = "meta", description = "Health and the API description"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A session token from POST /v1/auth/login (vgl_…) or an ingest key (vik_…)",
                    ))
                    .build(),
            ),
        );
    }
}

/// The refusals every operation of a kind can give, added to each such operation here so that
/// none is left undocumented: one that takes parameters or a body refuses input it cannot read
/// (400); one that takes a bearer token refuses a missing, unknown, expired or revoked one (401),
/// and one of the wrong kind (an ingest key used to read, a session token to ingest) or a right
/// the caller's roles do not grant (403).
struct Refusals;

impl Modify for Refusals {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let refusal = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
            ];
            for op in operations.into_iter().flatten() {
                let takes_input = op.parameters.as_ref().is_some_and(|p| !p.is_empty())
                    || op.request_body.is_some();
                let responses = &mut op.responses.responses;
                if takes_input {
                    responses.entry("400".into()).or_insert_with(|| {
                        refusal("A parameter or body this operation cannot read (`bad_parameter`, `bad_request`)").into()
                    });
                }
                if op.security.as_ref().is_none_or(|s| s.is_empty()) {
                    continue;
                }
                responses.entry("401".into()).or_insert_with(|| {
                    refusal("No token, or an unknown, expired or revoked one (`unauthorized`)")
                        .into()
                });
                responses.entry("403".into()).or_insert_with(|| {
                    refusal(
                        "A right the caller's roles do not grant, or a credential of the wrong kind (`forbidden`)",
                    )
                    .into()
                });
            }
        }
    }
}

fn parts() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(events::ingest, events::search))
        .routes(routes!(events::get_event))
        .routes(routes!(annotations::annotate, annotations::annotations))
        .routes(routes!(annotations::list_marks, annotations::add_mark))
        .routes(routes!(annotations::update_mark, annotations::remove_mark))
        .routes(routes!(
            annotations::list_incidents,
            annotations::open_incident
        ))
        .routes(routes!(annotations::get_incident))
        .routes(routes!(annotations::pin))
        .routes(routes!(annotations::add_note))
        .routes(routes!(events::timeline))
        .routes(routes!(events::facets))
        .routes(routes!(export::export))
        .routes(routes!(stream::stream))
        .routes(routes!(session::login))
        .routes(routes!(session::logout))
        .routes(routes!(session::me))
        .routes(routes!(session::change_password))
        .routes(routes!(alerts::list_channels, alerts::add_channel))
        .routes(routes!(alerts::remove_channel))
        .routes(routes!(alerts::test_channel))
        .routes(routes!(alerts::list_rules, alerts::add_rule))
        .routes(routes!(alerts::remove_rule))
        .routes(routes!(alerts::deliveries))
        .routes(routes!(alerts::retry_delivery))
        .routes(routes!(accounts::list_users, accounts::add_user))
        .routes(routes!(accounts::set_roles))
        .routes(routes!(accounts::revoke_user))
        .routes(routes!(accounts::unlock_user))
        .routes(routes!(accounts::disable_user))
        .routes(routes!(accounts::enable_user))
        .routes(routes!(accounts::list_roles, accounts::add_role))
        .routes(routes!(accounts::remove_role))
        .routes(routes!(accounts::list_keys, accounts::create_key))
        .routes(routes!(accounts::revoke_key))
        .routes(routes!(integrity::key))
        .routes(routes!(integrity::checkpoint))
        .routes(routes!(integrity::checkpoints))
        .routes(routes!(integrity::inclusion))
        .routes(routes!(integrity::entries))
        .routes(routes!(integrity::consistency))
        .routes(routes!(integrity::feed))
        .routes(routes!(senders::list_senders))
        .routes(routes!(meta::healthz))
        .split_for_parts();
    // After the routes: the modifier goes over their operations.
    let mut api = api;
    Refusals.modify(&mut api);
    (router, api)
}

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    parts().1
}

/// How long a request may take until its answer begins, by default: more than an export's
/// wait for the search index ([`crate::service::exports::INDEX_PATIENCE`]).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The application: every route, the OpenAPI document at `/openapi.json`, JSON 404s.
pub fn app(state: AppState) -> Router {
    let (router, api) = parts();
    let api = std::sync::Arc::new(api);
    let timeout = state.config.request_timeout;
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || async move { axum::Json(api.as_ref().clone()) }),
        )
        .fallback(|| async { ApiError::not_found("no such endpoint: see /openapi.json") })
        // A request must be read and answered (its answer begun: tails and exports stream on)
        // within this, so that a client sending slowly cannot hold a connection and a worker.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
