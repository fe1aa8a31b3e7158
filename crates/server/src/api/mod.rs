//! The HTTP API. Handlers translate requests into store and service calls;
//! they hold no detection logic. Every route but login, health and (when
//! configured) metrics needs a [`Principal`](crate::auth::Principal).

pub mod analyze;
pub mod auth;
pub mod blocks;
pub mod events;
pub mod incidents;
pub mod openapi;
pub mod reports;
pub mod stats;
pub mod stream;
pub mod system;

use crate::auth::ClientIp;
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use secmo_store::StoreError;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooMany(String, u64),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::TooMany(..) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        if let ApiError::Internal(m) = &self {
            tracing::error!(error = %m, "request failed");
        }
        let mut resp = (
            status,
            axum::Json(ErrorBody {
                error: code,
                message: self.to_string(),
            }),
        )
            .into_response();
        if let ApiError::TooMany(_, secs) = self
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => ApiError::NotFound(format!("{m} not found")),
            StoreError::Conflict(m) => ApiError::Conflict(m),
            StoreError::Invalid(m) => ApiError::BadRequest(m),
            StoreError::Unavailable(m) => {
                ApiError::Unavailable(format!("storage unavailable: {m}"))
            }
            StoreError::Db(m) => ApiError::Internal(m),
        }
    }
}

impl From<crate::respond::BlockError> for ApiError {
    fn from(e: crate::respond::BlockError) -> Self {
        match e {
            crate::respond::BlockError::Allowlisted(_) => ApiError::Conflict(e.to_string()),
            crate::respond::BlockError::Store(s) => s.into(),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// JSON request bodies with our error shape on malformed input.
pub struct Json<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for Json<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

/// Query strings with our error shape.
pub struct Query<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for Query<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    let upload_limit = (state.cfg.upload_limit_mb as usize).saturating_mul(1 << 20);
    let api = Router::new()
        .route("/health", get(system::health))
        .route("/metrics", get(system::metrics))
        .route("/openapi.json", get(openapi::document))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/me", get(auth::me))
        .route("/users", get(auth::list_users).post(auth::create_user))
        .route(
            "/users/{id}",
            axum::routing::patch(auth::update_user).delete(auth::delete_user),
        )
        .route("/tokens", get(auth::list_tokens).post(auth::create_token))
        .route("/tokens/{id}", axum::routing::delete(auth::revoke_token))
        .route("/stats", get(stats::stats))
        .route("/events", get(events::query))
        .route("/events/{id}", get(events::one))
        .route("/ips/{ip}", get(events::ip_view))
        .route("/alerts", get(incidents::alerts))
        .route("/incidents", get(incidents::list))
        .route(
            "/incidents/{id}",
            get(incidents::one).patch(incidents::update),
        )
        .route("/incidents/{id}/block", post(incidents::block_attacker))
        .route("/blocks", get(blocks::list).post(blocks::create))
        .route("/blocks/history", get(blocks::history))
        .route("/blocks/{net}", axum::routing::delete(blocks::delete))
        .route("/block", post(blocks::simple_block))
        .route("/unblock", post(blocks::simple_unblock))
        .route("/blocklist", get(blocks::blocklist))
        .route("/allowlist", get(blocks::allowlist).post(blocks::allow))
        .route("/allowlist/{id}", axum::routing::delete(blocks::disallow))
        .route("/sources", get(system::sources))
        .route("/audit", get(system::audit))
        .route("/rules", get(system::rules))
        .route(
            "/analyze",
            post(analyze::analyze).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/stream", get(stream::stream))
        .route("/reports", get(reports::list).post(reports::create))
        .route("/reports/{id}", get(reports::one))
        .route("/reports/{id}/download", get(reports::download))
        .route("/reports/{id}/send", post(reports::send))
        .route("/notifications", get(reports::notifications))
        .route("/notifications/outbox", get(reports::outbox))
        .route("/notifications/outbox/{id}/retry", post(reports::retry))
        .route("/notifications/test", post(reports::test))
        .fallback(|| async { ApiError::NotFound("no such API endpoint".into()) });
    Router::new()
        .nest("/api", api)
        .route("/metrics", get(system::metrics))
        .route("/", get(system::index))
        .fallback(system::spa)
        .layer(DefaultBodyLimit::max(1 << 20))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), guard))
        .with_state(state)
}

/// Around every request: refuse blocked clients, count, and set the
/// security headers (strict CSP: the dashboard loads only its own scripts).
async fn guard(
    State(state): State<Arc<AppState>>,
    ClientIp(ip): ClientIp,
    req: Request,
    next: Next,
) -> Response {
    state.metrics.http_requests.fetch_add(1, Relaxed);
    let path = req.uri().path();
    let mut resp = if state.blocks.is_blocked(ip) && path != "/api/health" {
        ApiError::Forbidden("your address is blocked".into()).into_response()
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    // A handler may set a stricter policy (report downloads: sandboxed).
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        ));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    if state.tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    resp
}

/// Parse an IP or CIDR from user input.
pub fn parse_net(s: &str) -> ApiResult<ipnet::IpNet> {
    let s = s.trim();
    if let Ok(n) = s.parse::<ipnet::IpNet>() {
        return Ok(n.trunc());
    }
    s.parse::<std::net::IpAddr>()
        .map(ipnet::IpNet::from)
        .map_err(|_| ApiError::BadRequest(format!("{s:?} is not an IP address or CIDR network")))
}
