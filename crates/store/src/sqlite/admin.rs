//! Checkpoints, blocks, allowlist, users, sessions, tokens, audit.

use super::{SqlResult, id_cursor, ip_parse, limit_of, net_parse};
use crate::model::*;
use crate::{Result, StoreError};
use ipnet::IpNet;
use rusqlite::{Connection, OptionalExtension, Row, params};

// ---- checkpoints -------------------------------------------------------------

pub(crate) fn checkpoints(conn: &Connection) -> Result<Vec<(String, String)>> {
    conn.prepare_cached("SELECT key, value FROM checkpoints ORDER BY key")
        .db()?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .db()?
        .collect::<rusqlite::Result<_>>()
        .db()
}

pub(crate) fn delete_checkpoint(conn: &Connection, key: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM checkpoints WHERE key = ?1")
        .db()?
        .execute([key])
        .db()?;
    Ok(())
}

// ---- blocks ------------------------------------------------------------------

const BLOCK_COLS: &str = "id, net, reason, created_by, created_ms, expires_ms, rule_id, incident_id, lifted_ms, lifted_by";

fn block_row(r: &Row<'_>) -> rusqlite::Result<Block> {
    Ok(Block {
        id: r.get(0)?,
        net: net_parse(&r.get::<_, String>(1)?)?,
        reason: r.get(2)?,
        created_by: r.get(3)?,
        created_ms: r.get(4)?,
        expires_ms: r.get(5)?,
        rule_id: r.get(6)?,
        incident_id: r.get(7)?,
        lifted_ms: r.get(8)?,
        lifted_by: r.get(9)?,
    })
}

fn block_by_id(conn: &Connection, id: i64) -> Result<Block> {
    conn.prepare_cached(&format!("SELECT {BLOCK_COLS} FROM blocks WHERE id = ?1"))
        .db()?
        .query_row([id], block_row)
        .db()
}

/// The canonical form: the network address with its prefix (10.1.2.3/8 → 10.0.0.0/8).
fn canonical(net: IpNet) -> String {
    net.trunc().to_string()
}

pub(crate) fn add_block(conn: &Connection, b: &NewBlock) -> Result<Block> {
    conn.prepare_cached(
        "INSERT INTO blocks (net, reason, created_by, created_ms, expires_ms, rule_id, incident_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .db()?
    .execute(params![
        canonical(b.net),
        b.reason,
        b.created_by,
        b.created_ms,
        b.expires_ms,
        b.rule_id,
        b.incident_id
    ])
    .db()?;
    block_by_id(conn, conn.last_insert_rowid())
}

pub(crate) fn remove_block(
    conn: &mut Connection,
    net: IpNet,
    actor: &str,
    now_ms: i64,
) -> Result<Vec<Block>> {
    let tx = conn.transaction().db()?;
    let ids: Vec<i64> = tx
        .prepare_cached("SELECT id FROM blocks WHERE net = ?1 AND lifted_ms IS NULL ORDER BY id")
        .db()?
        .query_map([canonical(net)], |r| r.get(0))
        .db()?
        .collect::<rusqlite::Result<_>>()
        .db()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        tx.prepare_cached("UPDATE blocks SET lifted_ms = ?2, lifted_by = ?3 WHERE id = ?1")
            .db()?
            .execute(params![id, now_ms, actor])
            .db()?;
        out.push(block_by_id(&tx, id)?);
    }
    tx.commit().db()?;
    Ok(out)
}

pub(crate) fn active_blocks(conn: &Connection, now_ms: i64) -> Result<Vec<Block>> {
    conn.prepare_cached(&format!(
        "SELECT {BLOCK_COLS} FROM blocks WHERE lifted_ms IS NULL AND (expires_ms IS NULL OR expires_ms > ?1) \
         ORDER BY id"
    ))
    .db()?
    .query_map([now_ms], block_row)
    .db()?
    .collect::<rusqlite::Result<_>>()
    .db()
}

pub(crate) fn expire_blocks(conn: &mut Connection, now_ms: i64) -> Result<Vec<Block>> {
    let tx = conn.transaction().db()?;
    let ids: Vec<i64> = tx
        .prepare_cached(
            "SELECT id FROM blocks WHERE lifted_ms IS NULL AND expires_ms <= ?1 ORDER BY id",
        )
        .db()?
        .query_map([now_ms], |r| r.get(0))
        .db()?
        .collect::<rusqlite::Result<_>>()
        .db()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        tx.prepare_cached("UPDATE blocks SET lifted_ms = ?2, lifted_by = 'expiry' WHERE id = ?1")
            .db()?
            .execute(params![id, now_ms])
            .db()?;
        out.push(block_by_id(&tx, id)?);
    }
    tx.commit().db()?;
    Ok(out)
}

pub(crate) fn block_history(conn: &Connection, page: &PageRequest) -> Result<Page<Block>> {
    let limit = limit_of(page);
    let mut items: Vec<Block> = conn
        .prepare_cached(&format!(
            "SELECT {BLOCK_COLS} FROM blocks WHERE id < ?1 ORDER BY id DESC LIMIT ?2"
        ))
        .db()?
        .query_map(params![id_cursor(page)?, limit as i64 + 1], block_row)
        .db()?
        .collect::<rusqlite::Result<_>>()
        .db()?;
    let next_cursor = cut(&mut items, limit, |b| b.id);
    Ok(Page { items, next_cursor })
}

/// Truncate a fetched `limit + 1` rows to `limit`; the cursor is the last id when there was more.
pub(crate) fn cut<T>(items: &mut Vec<T>, limit: usize, id: impl Fn(&T) -> i64) -> Option<String> {
    if items.len() > limit {
        items.truncate(limit);
        items.last().map(|x| id(x).to_string())
    } else {
        None
    }
}

// ---- allowlist -----------------------------------------------------------------

fn allow_row(r: &Row<'_>) -> rusqlite::Result<AllowEntry> {
    Ok(AllowEntry {
        id: r.get(0)?,
        net: net_parse(&r.get::<_, String>(1)?)?,
        note: r.get(2)?,
        created_by: r.get(3)?,
        created_ms: r.get(4)?,
    })
}

pub(crate) fn allowlist(conn: &Connection) -> Result<Vec<AllowEntry>> {
    conn.prepare_cached("SELECT id, net, note, created_by, created_ms FROM allowlist ORDER BY id")
        .db()?
        .query_map([], allow_row)
        .db()?
        .collect::<rusqlite::Result<_>>()
        .db()
}

pub(crate) fn add_allow(conn: &Connection, e: &NewAllowEntry) -> Result<AllowEntry> {
    conn.prepare_cached(
        "INSERT INTO allowlist (net, note, created_by, created_ms) VALUES (?1, ?2, ?3, ?4)",
    )
    .db()?
    .execute(params![
        canonical(e.net),
        e.note,
        e.created_by,
        e.created_ms
    ])
    .db()?;
    conn.prepare_cached("SELECT id, net, note, created_by, created_ms FROM allowlist WHERE id = ?1")
        .db()?
        .query_row([conn.last_insert_rowid()], allow_row)
        .db()
}

pub(crate) fn remove_allow(conn: &Connection, id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM allowlist WHERE id = ?1")
        .db()?
        .execute([id])
        .db()?
        > 0)
}

// ---- users ---------------------------------------------------------------------

const USER_COLS: &str = "u.id, u.name, u.role, u.disabled, u.created_ms";

fn user_row(r: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(2)?;
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        // An unknown role (hand-edited database) gets the least privilege.
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        disabled: r.get(3)?,
        created_ms: r.get(4)?,
    })
}

pub(crate) fn create_user(conn: &Connection, u: &NewUser) -> Result<User> {
    if u.name.is_empty() {
        return Err(StoreError::Invalid("empty user name".into()));
    }
    let r = conn
        .prepare_cached(
            "INSERT INTO users (name, role, password_hash, created_ms) VALUES (?1, ?2, ?3, ?4)",
        )
        .db()?
        .execute(params![
            u.name,
            u.role.as_str(),
            u.password_hash,
            u.created_ms
        ])
        .db();
    match r {
        Err(StoreError::Conflict(_)) => {
            return Err(StoreError::Conflict(format!("user {:?} exists", u.name)));
        }
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    user(conn, conn.last_insert_rowid())?
        .ok_or_else(|| StoreError::Db("user vanished after insert".into()))
}

pub(crate) fn users(conn: &Connection) -> Result<Vec<User>> {
    conn.prepare_cached(&format!("SELECT {USER_COLS} FROM users u ORDER BY u.id"))
        .db()?
        .query_map([], user_row)
        .db()?
        .collect::<rusqlite::Result<_>>()
        .db()
}

pub(crate) fn user(conn: &Connection, id: i64) -> Result<Option<User>> {
    conn.prepare_cached(&format!("SELECT {USER_COLS} FROM users u WHERE u.id = ?1"))
        .db()?
        .query_row([id], user_row)
        .optional()
        .db()
}

pub(crate) fn user_credentials(conn: &Connection, name: &str) -> Result<Option<(User, String)>> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLS}, u.password_hash FROM users u WHERE u.name = ?1"
    ))
    .db()?
    .query_row([name], |r| Ok((user_row(r)?, r.get(5)?)))
    .optional()
    .db()
}

pub(crate) fn update_user(conn: &mut Connection, id: i64, c: &UserChange) -> Result<User> {
    let tx = conn.transaction().db()?;
    if user(&tx, id)?.is_none() {
        return Err(StoreError::NotFound(format!("user {id}")));
    }
    if let Some(role) = c.role {
        tx.execute(
            "UPDATE users SET role = ?2 WHERE id = ?1",
            params![id, role.as_str()],
        )
        .db()?;
    }
    if let Some(h) = &c.password_hash {
        tx.execute(
            "UPDATE users SET password_hash = ?2 WHERE id = ?1",
            params![id, h],
        )
        .db()?;
    }
    if let Some(d) = c.disabled {
        tx.execute(
            "UPDATE users SET disabled = ?2 WHERE id = ?1",
            params![id, d],
        )
        .db()?;
    }
    let u = user(&tx, id)?.ok_or_else(|| StoreError::NotFound(format!("user {id}")))?;
    tx.commit().db()?;
    Ok(u)
}

pub(crate) fn delete_user(conn: &mut Connection, id: i64) -> Result<bool> {
    let tx = conn.transaction().db()?;
    // Explicit as well as by the foreign keys' cascade.
    tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])
        .db()?;
    tx.execute("DELETE FROM tokens WHERE user_id = ?1", [id])
        .db()?;
    let n = tx.execute("DELETE FROM users WHERE id = ?1", [id]).db()?;
    tx.commit().db()?;
    Ok(n > 0)
}

pub(crate) fn user_count(conn: &Connection) -> Result<u64> {
    let n: i64 = conn
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .db()?;
    Ok(u64::try_from(n).unwrap_or(0))
}

// ---- sessions ------------------------------------------------------------------

pub(crate) fn create_session(conn: &Connection, s: &Session) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .db()?
    .execute(params![s.id_hash, s.user_id, s.csrf_token, s.created_ms, s.expires_ms])
    .db()
    .map_err(|e| match e {
        StoreError::Db(m) if m.contains("FOREIGN KEY") => StoreError::NotFound(format!("user {}", s.user_id)),
        e => e,
    })?;
    Ok(())
}

pub(crate) fn session(
    conn: &Connection,
    id_hash: &str,
    now_ms: i64,
) -> Result<Option<(Session, User)>> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLS}, s.id_hash, s.user_id, s.csrf_token, s.created_ms, s.expires_ms \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id_hash = ?1 AND s.expires_ms > ?2 AND u.disabled = 0"
    ))
    .db()?
    .query_row(params![id_hash, now_ms], |r| {
        Ok((
            Session {
                id_hash: r.get(5)?,
                user_id: r.get(6)?,
                csrf_token: r.get(7)?,
                created_ms: r.get(8)?,
                expires_ms: r.get(9)?,
            },
            user_row(r)?,
        ))
    })
    .optional()
    .db()
}

pub(crate) fn delete_session(conn: &Connection, id_hash: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM sessions WHERE id_hash = ?1")
        .db()?
        .execute([id_hash])
        .db()?;
    Ok(())
}

pub(crate) fn delete_user_sessions(conn: &Connection, user_id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM sessions WHERE user_id = ?1")
        .db()?
        .execute([user_id])
        .db()?;
    Ok(())
}

// ---- tokens --------------------------------------------------------------------

const TOKEN_COLS: &str = "t.id, t.user_id, u.name, t.name, t.prefix, t.created_ms, t.expires_ms, t.last_used_ms, t.revoked";

fn token_row(r: &Row<'_>) -> rusqlite::Result<ApiToken> {
    Ok(ApiToken {
        id: r.get(0)?,
        user_id: r.get(1)?,
        user_name: r.get(2)?,
        name: r.get(3)?,
        prefix: r.get(4)?,
        created_ms: r.get(5)?,
        expires_ms: r.get(6)?,
        last_used_ms: r.get(7)?,
        revoked: r.get(8)?,
    })
}

pub(crate) fn create_token(conn: &Connection, t: &NewApiToken) -> Result<ApiToken> {
    conn.prepare_cached(
        "INSERT INTO tokens (user_id, name, secret_hash, prefix, created_ms, expires_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .db()?
    .execute(params![
        t.user_id,
        t.name,
        t.secret_hash,
        t.prefix,
        t.created_ms,
        t.expires_ms
    ])
    .db()
    .map_err(|e| match e {
        StoreError::Db(m) if m.contains("FOREIGN KEY") => {
            StoreError::NotFound(format!("user {}", t.user_id))
        }
        e => e,
    })?;
    conn.prepare_cached(&format!(
        "SELECT {TOKEN_COLS} FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?1"
    ))
    .db()?
    .query_row([conn.last_insert_rowid()], token_row)
    .db()
}

pub(crate) fn token(
    conn: &Connection,
    secret_hash: &str,
    now_ms: i64,
) -> Result<Option<(ApiToken, User)>> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT {TOKEN_COLS}, {USER_COLS} FROM tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.secret_hash = ?1 AND t.revoked = 0 AND (t.expires_ms IS NULL OR t.expires_ms > ?2) \
             AND u.disabled = 0"
        ))
        .db()?
        .query_row(params![secret_hash, now_ms], |r| {
            let t = token_row(r)?;
            let role: String = r.get(11)?;
            let u = User {
                id: r.get(9)?,
                name: r.get(10)?,
                role: Role::parse(&role).unwrap_or(Role::Viewer),
                disabled: r.get(12)?,
                created_ms: r.get(13)?,
            };
            Ok((t, u))
        })
        .optional()
        .db()?;
    let Some((mut t, u)) = found else {
        return Ok(None);
    };
    conn.prepare_cached("UPDATE tokens SET last_used_ms = ?2 WHERE id = ?1")
        .db()?
        .execute(params![t.id, now_ms])
        .db()?;
    t.last_used_ms = Some(now_ms);
    Ok(Some((t, u)))
}

pub(crate) fn tokens(conn: &Connection) -> Result<Vec<ApiToken>> {
    conn.prepare_cached(&format!(
        "SELECT {TOKEN_COLS} FROM tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id"
    ))
    .db()?
    .query_map([], token_row)
    .db()?
    .collect::<rusqlite::Result<_>>()
    .db()
}

pub(crate) fn revoke_token(conn: &Connection, id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("UPDATE tokens SET revoked = 1 WHERE id = ?1 AND revoked = 0")
        .db()?
        .execute([id])
        .db()?
        > 0)
}

// ---- audit ---------------------------------------------------------------------

pub(crate) fn audit(conn: &Connection, e: &NewAuditEntry) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit (at_ms, actor, ip, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .db()?
    .execute(params![
        e.at_ms,
        e.actor,
        e.ip.map(|ip| ip.to_string()),
        e.action,
        e.target,
        e.detail
    ])
    .db()?;
    Ok(())
}

pub(crate) fn audit_log(conn: &Connection, page: &PageRequest) -> Result<Page<AuditEntry>> {
    let limit = limit_of(page);
    let mut items: Vec<AuditEntry> = conn
        .prepare_cached(
            "SELECT id, at_ms, actor, ip, action, target, detail FROM audit WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
        )
        .db()?
        .query_map(params![id_cursor(page)?, limit as i64 + 1], |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at_ms: r.get(1)?,
                actor: r.get(2)?,
                ip: ip_parse(r.get(3)?),
                action: r.get(4)?,
                target: r.get(5)?,
                detail: r.get(6)?,
            })
        })
        .db()?
        .collect::<rusqlite::Result<_>>()
        .db()?;
    let next_cursor = cut(&mut items, limit, |a| a.id);
    Ok(Page { items, next_cursor })
}
