//! Login, logout, the current user, users and API tokens.

use super::{ApiError, ApiResult, Json};
use crate::auth::password::{self, hash_password, random_hex, sha256_hex, verify_password};
use crate::auth::{ClientIp, Credential, Principal, SESSION_COOKIE, TOKEN_PREFIX};
use crate::state::AppState;
use crate::{audit, blocking, now_ms};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use secmo_store::{NewApiToken, NewUser, Role, Session, User, UserChange};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

#[derive(Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize)]
pub struct Me {
    pub user: User,
    /// Send back in the `x-csrf-token` header with every change (cookie sessions only).
    pub csrf_token: Option<String>,
}

pub async fn login(
    State(st): State<Arc<AppState>>,
    ClientIp(ip): ClientIp,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Response> {
    let now = now_ms();
    let ip_key = format!("ip:{ip}");
    let user_key = format!("user:{}", req.username);
    for (throttle, key) in [(&st.throttle, &ip_key), (&st.user_throttle, &user_key)] {
        if let Some(wait) = throttle.check(key, now) {
            st.activity.login_failure(ip, &req.username);
            st.metrics.logins_failed.fetch_add(1, Relaxed);
            let secs = (wait as u64).div_ceil(1000);
            return Err(ApiError::TooMany(
                format!("too many failed logins; try again in {secs} s"),
                secs,
            ));
        }
    }
    let name = req.username.clone();
    let s2 = Arc::clone(&st);
    let found = blocking(move || s2.store.user_credentials(&name)).await?;
    let password = req.password;
    let (ok, user) = tokio::task::spawn_blocking(move || match found {
        Some((user, hash)) => (
            verify_password(&password, &hash) && !user.disabled,
            Some(user),
        ),
        None => {
            // Same work as a real check, so timing does not reveal which names exist.
            let _ = verify_password(&password, password::dummy_hash());
            (false, None)
        }
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let Some(user) = user.filter(|_| ok) else {
        st.throttle.fail(&ip_key, now);
        st.user_throttle.fail(&user_key, now);
        st.activity.login_failure(ip, &req.username);
        st.metrics.logins_failed.fetch_add(1, Relaxed);
        audit(
            &st,
            "anonymous",
            Some(ip),
            "login.failure",
            &req.username,
            serde_json::json!({}),
        )
        .await;
        return Err(ApiError::Unauthorized("wrong user name or password".into()));
    };
    st.user_throttle.succeed(&user_key);
    let secret = random_hex(32);
    let session = Session {
        id_hash: sha256_hex(&secret),
        user_id: user.id,
        csrf_token: random_hex(24),
        created_ms: now,
        expires_ms: now + st.cfg.auth.session_hours as i64 * 3_600_000,
    };
    let s2 = Arc::clone(&st);
    let sess = session.clone();
    blocking(move || s2.store.create_session(&sess)).await?;
    st.activity.login_success(ip, &user.name);
    audit(
        &st,
        &user.name,
        Some(ip),
        "login.success",
        &user.name,
        serde_json::json!({}),
    )
    .await;
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        st.cfg.auth.session_hours * 3600,
        if st.tls { "; Secure" } else { "" }
    );
    let mut resp = axum::Json(Me {
        user,
        csrf_token: Some(session.csrf_token),
    })
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

pub async fn logout(State(st): State<Arc<AppState>>, p: Principal) -> ApiResult<Response> {
    if let Credential::Session { id_hash, .. } = &p.credential {
        let s2 = Arc::clone(&st);
        let h = id_hash.clone();
        blocking(move || s2.store.delete_session(&h)).await?;
        st.credentials.clear();
    }
    st.activity.logout(p.ip, &p.user.name);
    audit(
        &st,
        &p.user.name,
        Some(p.ip),
        "logout",
        &p.user.name,
        serde_json::json!({}),
    )
    .await;
    let mut resp = axum::Json(serde_json::json!({"ok": true})).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("secmo_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(resp)
}

pub async fn me(p: Principal) -> axum::Json<Me> {
    let csrf_token = match p.credential {
        Credential::Session { csrf, .. } => Some(csrf),
        Credential::Token { .. } => None,
    };
    axum::Json(Me {
        user: p.user,
        csrf_token,
    })
}

pub async fn list_users(
    State(st): State<Arc<AppState>>,
    p: Principal,
) -> ApiResult<axum::Json<Vec<User>>> {
    p.require(Role::Admin)?;
    Ok(axum::Json(blocking(move || st.store.users()).await?))
}

#[derive(Deserialize)]
pub struct CreateUser {
    pub name: String,
    pub role: Role,
    pub password: String,
}

fn check_password(p: &str) -> ApiResult<()> {
    if p.chars().count() < 10 {
        return Err(ApiError::BadRequest(
            "passwords need at least 10 characters".into(),
        ));
    }
    Ok(())
}

pub async fn create_user(
    State(st): State<Arc<AppState>>,
    p: Principal,
    Json(req): Json<CreateUser>,
) -> ApiResult<axum::Json<User>> {
    p.require(Role::Admin)?;
    let name = req.name.trim().to_string();
    if name.is_empty() || name.len() > 64 || name.chars().any(|c| c.is_control()) {
        return Err(ApiError::BadRequest(
            "user names are 1–64 printable characters".into(),
        ));
    }
    check_password(&req.password)?;
    let hash = tokio::task::spawn_blocking(move || hash_password(&req.password))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let s2 = Arc::clone(&st);
    let new = NewUser {
        name: name.clone(),
        role: req.role,
        password_hash: hash,
        created_ms: now_ms(),
    };
    let user = blocking(move || s2.store.create_user(&new)).await?;
    audit(
        &st,
        &p.user.name,
        Some(p.ip),
        "user.create",
        &name,
        serde_json::json!({"role": req.role}),
    )
    .await;
    Ok(axum::Json(user))
}

#[derive(Deserialize)]
pub struct UpdateUser {
    pub role: Option<Role>,
    pub password: Option<String>,
    pub disabled: Option<bool>,
}

pub async fn update_user(
    State(st): State<Arc<AppState>>,
    p: Principal,
    Path(id): Path<i64>,
    Json(req): Json<UpdateUser>,
) -> ApiResult<axum::Json<User>> {
    // Everyone may change their own password; everything else is for admins.
    let own_password_only = id == p.user.id && req.role.is_none() && req.disabled.is_none();
    if !own_password_only {
        p.require(Role::Admin)?;
    }
    if id == p.user.id
        && (req.disabled == Some(true)
            || req.role.is_some_and(|r| r != Role::Admin) && p.user.role == Role::Admin)
    {
        return Err(ApiError::Conflict(
            "you cannot demote or disable yourself".into(),
        ));
    }
    let password_hash = match &req.password {
        Some(pw) => {
            check_password(pw)?;
            let pw = pw.clone();
            Some(
                tokio::task::spawn_blocking(move || hash_password(&pw))
                    .await
                    .map_err(|e| ApiError::Internal(e.to_string()))?
                    .map_err(|e| ApiError::Internal(e.to_string()))?,
            )
        }
        None => None,
    };
    let change = UserChange {
        role: req.role,
        password_hash,
        disabled: req.disabled,
    };
    let s2 = Arc::clone(&st);
    let user = blocking(move || {
        let u = s2.store.update_user(id, &change)?;
        s2.store.delete_user_sessions(id)?;
        Ok::<_, secmo_store::StoreError>(u)
    })
    .await?;
    st.credentials.clear();
    audit(
        &st,
        &p.user.name,
        Some(p.ip),
        "user.update",
        &user.name,
        serde_json::json!({"role": req.role, "disabled": req.disabled, "password_changed": req.password.is_some()}),
    )
    .await;
    Ok(axum::Json(user))
}

pub async fn delete_user(
    State(st): State<Arc<AppState>>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    p.require(Role::Admin)?;
    if id == p.user.id {
        return Err(ApiError::Conflict("you cannot delete yourself".into()));
    }
    let s2 = Arc::clone(&st);
    let deleted = blocking(move || s2.store.delete_user(id)).await?;
    st.credentials.clear();
    if !deleted {
        return Err(ApiError::NotFound(format!("user {id} not found")));
    }
    audit(
        &st,
        &p.user.name,
        Some(p.ip),
        "user.delete",
        &id.to_string(),
        serde_json::json!({}),
    )
    .await;
    Ok(axum::Json(serde_json::json!({"deleted": true})))
}

pub async fn list_tokens(
    State(st): State<Arc<AppState>>,
    p: Principal,
) -> ApiResult<axum::Json<Vec<secmo_store::ApiToken>>> {
    p.require(Role::Admin)?;
    Ok(axum::Json(blocking(move || st.store.tokens()).await?))
}

#[derive(Deserialize)]
pub struct CreateToken {
    pub name: String,
    /// Whose rights the token carries (default: the caller).
    pub user_id: Option<i64>,
    /// Lifetime in days (default: no expiry).
    pub expires_days: Option<u32>,
}

#[derive(Serialize)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: secmo_store::ApiToken,
    /// Shown once; only its hash is stored.
    pub secret: String,
}

pub async fn create_token(
    State(st): State<Arc<AppState>>,
    p: Principal,
    Json(req): Json<CreateToken>,
) -> ApiResult<axum::Json<CreatedToken>> {
    p.require(Role::Admin)?;
    let secret = format!("{TOKEN_PREFIX}{}", random_hex(24));
    let now = now_ms();
    let new = NewApiToken {
        user_id: req.user_id.unwrap_or(p.user.id),
        name: req.name.trim().chars().take(100).collect(),
        secret_hash: sha256_hex(&secret),
        prefix: secret.chars().take(TOKEN_PREFIX.len() + 6).collect(),
        created_ms: now,
        expires_ms: req.expires_days.map(|d| now + d as i64 * 86_400_000),
    };
    let s2 = Arc::clone(&st);
    let token = blocking(move || s2.store.create_token(&new)).await?;
    audit(
        &st,
        &p.user.name,
        Some(p.ip),
        "token.create",
        &token.name,
        serde_json::json!({"user_id": token.user_id}),
    )
    .await;
    Ok(axum::Json(CreatedToken { token, secret }))
}

pub async fn revoke_token(
    State(st): State<Arc<AppState>>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    p.require(Role::Admin)?;
    let s2 = Arc::clone(&st);
    let revoked = blocking(move || s2.store.revoke_token(id)).await?;
    st.credentials.clear();
    if !revoked {
        return Err(ApiError::NotFound(format!("token {id} not found")));
    }
    audit(
        &st,
        &p.user.name,
        Some(p.ip),
        "token.revoke",
        &id.to_string(),
        serde_json::json!({}),
    )
    .await;
    Ok(axum::Json(serde_json::json!({"revoked": true})))
}
