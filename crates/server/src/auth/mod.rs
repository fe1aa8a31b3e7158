//! Who is calling: session cookies (browsers) and API tokens (scripts and
//! agents), roles, CSRF, login throttling and the server's own activity log.

pub mod activity;
pub mod password;
pub mod ratelimit;

use crate::api::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use secmo_store::{Role, User};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

pub const SESSION_COOKIE: &str = "secmo_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const TOKEN_PREFIX: &str = "secmo_";

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Credential {
    Session { id_hash: String, csrf: String },
    Token { id: i64 },
}

/// An authenticated caller. Extracting it refuses anonymous requests (401)
/// and cookie-authenticated changes without the CSRF header (403).
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub credential: Credential,
    pub ip: IpAddr,
}

impl Principal {
    /// Refuse unless the caller's role is at least `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.user.role >= role {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this needs the {} role; you are {}",
                role.as_str(),
                self.user.role.as_str()
            )))
        }
    }
}

/// Recently verified credentials, so a dashboard polling every few seconds
/// and a script hammering the API do not cost a database lookup (and, for
/// tokens, a write of `last_used_ms`) per request. Entries live
/// [`CREDENTIAL_TTL`]; any change to users, tokens or sessions clears them.
#[derive(Default)]
pub struct CredentialCache {
    map:
        std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, User, Credential)>>,
}

pub const CREDENTIAL_TTL: std::time::Duration = std::time::Duration::from_secs(10);
const CREDENTIAL_CACHE_MAX: usize = 10_000;

impl CredentialCache {
    fn get(&self, hash: &str) -> Option<(User, Credential)> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(hash)
            .filter(|(at, _, _)| at.elapsed() < CREDENTIAL_TTL)
            .map(|(_, u, c)| (u.clone(), c.clone()))
    }

    fn put(&self, hash: String, user: User, cred: Credential) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= CREDENTIAL_CACHE_MAX {
            map.retain(|_, (at, _, _)| at.elapsed() < CREDENTIAL_TTL);
            if map.len() >= CREDENTIAL_CACHE_MAX {
                map.clear();
            }
        }
        map.insert(hash, (std::time::Instant::now(), user, cred));
    }

    /// Forget everything (a user, token or session changed).
    pub fn clear(&self) {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// The client's address: the socket peer, or the first untrusted hop of
/// X-Forwarded-For when the peer is a trusted proxy.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

pub fn client_ip(state: &AppState, peer: Option<SocketAddr>, headers: &HeaderMap) -> IpAddr {
    let peer_ip = peer.map(|p| p.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let trusted = |ip: &IpAddr| {
        state
            .cfg
            .auth
            .trusted_proxies
            .iter()
            .any(|n| n.contains(ip))
    };
    if !trusted(&peer_ip) {
        return peer_ip;
    }
    let Some(xff) = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) else {
        return peer_ip;
    };
    // Walk from the right: the last hop not added by one of our proxies.
    let mut last = peer_ip;
    for hop in xff.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if trusted(&ip) => last = ip,
            Ok(ip) => return ip,
            Err(_) => return last,
        }
    }
    last
}

impl FromRequestParts<Arc<AppState>> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Ok(ClientIp(client_ip(state, peer, &parts.headers)))
    }
}

pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn is_change(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<Arc<AppState>> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        let ClientIp(ip) = match ClientIp::from_request_parts(parts, state).await {
            Ok(c) => c,
            Err(never) => match never {},
        };
        let now = crate::now_ms();
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let principal = if let Some(secret) = bearer {
            let hash = password::sha256_hex(secret);
            if let Some((user, credential)) = state.credentials.get(&hash) {
                return finish(
                    parts,
                    Principal {
                        user,
                        credential,
                        ip,
                    },
                );
            }
            let st = Arc::clone(state);
            let h2 = hash.clone();
            let found = crate::blocking(move || st.store.token(&h2, now)).await?;
            match found {
                Some((token, user)) => {
                    let credential = Credential::Token { id: token.id };
                    state
                        .credentials
                        .put(hash, user.clone(), credential.clone());
                    Principal {
                        user,
                        credential,
                        ip,
                    }
                }
                None => {
                    state.activity.api_refused(ip, "");
                    return Err(ApiError::Unauthorized(
                        "invalid or revoked API token".into(),
                    ));
                }
            }
        } else if let Some(value) = cookie(&parts.headers, SESSION_COOKIE) {
            let hash = password::sha256_hex(value);
            if let Some((user, credential)) = state.credentials.get(&hash) {
                return finish(
                    parts,
                    Principal {
                        user,
                        credential,
                        ip,
                    },
                );
            }
            let st = Arc::clone(state);
            let h2 = hash.clone();
            let found = crate::blocking(move || st.store.session(&h2, now)).await?;
            match found {
                Some((session, user)) => {
                    let credential = Credential::Session {
                        id_hash: hash.clone(),
                        csrf: session.csrf_token,
                    };
                    state
                        .credentials
                        .put(hash, user.clone(), credential.clone());
                    Principal {
                        user,
                        credential,
                        ip,
                    }
                }
                None => {
                    state.activity.api_refused(ip, "");
                    return Err(ApiError::Unauthorized(
                        "session expired; log in again".into(),
                    ));
                }
            }
        } else {
            state.activity.api_refused(ip, "");
            return Err(ApiError::Unauthorized("log in or send an API token".into()));
        };

        finish(parts, principal)
    }
}

/// CSRF check for cookie-authenticated changes, then remember the principal on the request.
fn finish(parts: &mut Parts, principal: Principal) -> Result<Principal, ApiError> {
    if let Credential::Session { csrf, .. } = &principal.credential
        && is_change(&parts.method)
    {
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !password::constant_time_eq(sent, csrf) {
            return Err(ApiError::Forbidden(
                "missing or wrong x-csrf-token header (cross-site request refused)".into(),
            ));
        }
    }
    parts.extensions.insert(principal.clone());
    Ok(principal)
}

/// First start: make sure an admin exists. Returns the generated password
/// when one was made up (to print once).
pub fn ensure_admin(state: &AppState) -> anyhow::Result<Option<String>> {
    if state.store.user_count()? > 0 {
        return Ok(None);
    }
    let (password, generated) = match &state.cfg.auth.admin_password {
        Some(p) => (p.clone(), false),
        None => (password::random_password(), true),
    };
    state.store.create_user(&secmo_store::NewUser {
        name: state.cfg.auth.admin_user.clone(),
        role: Role::Admin,
        password_hash: password::hash_password(&password)?,
        created_ms: crate::now_ms(),
    })?;
    Ok(generated.then_some(password))
}
