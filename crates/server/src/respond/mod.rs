//! Responding: blocking IPs and networks by hand or by policy, with expiry,
//! an allowlist that is never blocked, and enforcers that carry blocks out.

mod enforce;

pub use enforce::{CommandHook, Enforcer, ListFile, ListStyle, render_list as enforce_render};

use crate::config::{BlockingConfig, parse_duration_ms};
use ipnet::IpNet;
use secmo_event::{Category, Severity};
use secmo_store::{Block, IncidentTouch, NewBlock, Store, StoreError};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};

#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    #[error("{0} is on the allowlist and is never blocked")]
    Allowlisted(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Policy {
    min_severity: Option<Severity>,
    category: Option<Category>,
    rule: Option<String>,
    /// None blocks for good.
    duration_ms: Option<i64>,
}

impl Policy {
    fn matches(&self, t: &IncidentTouch) -> bool {
        self.min_severity.is_none_or(|s| t.severity >= s)
            && self.category.is_none_or(|c| t.category == c)
            && self.rule.as_deref().is_none_or(|r| r == t.rule_id)
    }
}

/// What is blocked right now, for per-event and per-request checks.
#[derive(Default)]
struct ActiveSet {
    hosts: std::collections::HashSet<IpAddr>,
    nets: Vec<IpNet>,
}

impl ActiveSet {
    fn contains(&self, ip: IpAddr) -> bool {
        self.hosts.contains(&ip) || self.nets.iter().any(|n| n.contains(&ip))
    }
}

pub struct BlockService {
    store: Arc<dyn Store>,
    config_allow: Vec<IpNet>,
    stored_allow: RwLock<Vec<IpNet>>,
    active: RwLock<ActiveSet>,
    policies: Vec<Policy>,
    enforcers: Vec<Box<dyn Enforcer>>,
    /// Last failure of each enforcer, shown in health.
    errors: Mutex<Vec<(String, String)>>,
}

impl BlockService {
    pub fn new(store: Arc<dyn Store>, cfg: &BlockingConfig) -> anyhow::Result<BlockService> {
        let mut config_allow = cfg.allowlist.clone();
        if cfg.allow_loopback {
            config_allow.push("127.0.0.0/8".parse()?);
            config_allow.push("::1/128".parse()?);
        }
        let policies = cfg
            .policies
            .iter()
            .map(|p| Policy {
                min_severity: p.min_severity,
                category: p.category,
                rule: p.rule.clone(),
                duration_ms: if p.duration == "never" {
                    None
                } else {
                    parse_duration_ms(&p.duration).ok()
                },
            })
            .collect();
        let mut enforcers: Vec<Box<dyn Enforcer>> = Vec::new();
        if let Some(path) = &cfg.nginx_deny_file {
            enforcers.push(Box::new(ListFile::new(path.clone(), ListStyle::NginxDeny)));
        }
        if let Some(path) = &cfg.plain_file {
            enforcers.push(Box::new(ListFile::new(path.clone(), ListStyle::Plain)));
        }
        if let Some(h) = &cfg.hook {
            enforcers.push(Box::new(CommandHook::new(h)));
        }
        let svc = BlockService {
            store,
            config_allow,
            stored_allow: RwLock::new(Vec::new()),
            active: RwLock::new(ActiveSet::default()),
            policies,
            enforcers,
            errors: Mutex::new(Vec::new()),
        };
        svc.refresh()?;
        svc.sync_enforcers();
        Ok(svc)
    }

    /// Reload the active set and the stored allowlist from the store.
    pub fn refresh(&self) -> Result<(), StoreError> {
        let now = crate::now_ms();
        let blocks = self.store.active_blocks(now)?;
        let mut set = ActiveSet::default();
        for b in &blocks {
            if b.net.prefix_len() == b.net.max_prefix_len() {
                set.hosts.insert(b.net.addr());
            } else {
                set.nets.push(b.net);
            }
        }
        *self.active.write().unwrap_or_else(|p| p.into_inner()) = set;
        let allow: Vec<IpNet> = self.store.allowlist()?.into_iter().map(|a| a.net).collect();
        *self.stored_allow.write().unwrap_or_else(|p| p.into_inner()) = allow;
        Ok(())
    }

    pub fn is_blocked(&self, ip: IpAddr) -> bool {
        let set = self.active.read().unwrap_or_else(|p| p.into_inner());
        (!set.hosts.is_empty() || !set.nets.is_empty()) && set.contains(ip) && !self.is_allowed(ip)
    }

    pub fn is_allowed(&self, ip: IpAddr) -> bool {
        self.config_allow.iter().any(|n| n.contains(&ip))
            || self
                .stored_allow
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .any(|n| n.contains(&ip))
    }

    /// True when blocking `net` would block an allowlisted address.
    pub fn overlaps_allowlist(&self, net: &IpNet) -> bool {
        let stored = self.stored_allow.read().unwrap_or_else(|p| p.into_inner());
        self.config_allow
            .iter()
            .chain(stored.iter())
            .any(|a| a.contains(net) || net.contains(a))
    }

    pub fn block(&self, new: &NewBlock) -> Result<Block, BlockError> {
        if self.overlaps_allowlist(&new.net) {
            return Err(BlockError::Allowlisted(new.net.to_string()));
        }
        let block = self.store.add_block(new)?;
        // The new block joins the active set in memory, as a reload would
        // add it: reloading every active block (twice, with the enforcers'
        // list) per automatic block was quadratic in the number of blocks,
        // 15 % of the store thread's time in `scripts/bench-serve`.
        self.activate(&block, crate::now_ms());
        self.each_enforcer(|e| e.block(&block));
        self.sync_enforcers();
        Ok(block)
    }

    /// Add `b` to the in-memory active set if `active_blocks(now)` would list it.
    fn activate(&self, b: &Block, now: i64) {
        if b.lifted_ms.is_some() || b.expires_ms.is_some_and(|e| e <= now) {
            return;
        }
        let mut set = self.active.write().unwrap_or_else(|p| p.into_inner());
        if b.net.prefix_len() == b.net.max_prefix_len() {
            set.hosts.insert(b.net.addr());
        } else {
            set.nets.push(b.net);
        }
    }

    pub fn unblock(&self, net: IpNet, actor: &str) -> Result<Vec<Block>, StoreError> {
        let lifted = self.store.remove_block(net, actor, crate::now_ms())?;
        self.refresh()?;
        for b in &lifted {
            self.each_enforcer(|e| e.unblock(b));
        }
        self.sync_enforcers();
        Ok(lifted)
    }

    /// Lift expired blocks (enforcers are told once). Call every few seconds.
    pub fn tick(&self) -> Result<Vec<Block>, StoreError> {
        let expired = self.store.expire_blocks(crate::now_ms())?;
        if !expired.is_empty() {
            self.refresh()?;
            for b in &expired {
                self.each_enforcer(|e| e.unblock(b));
            }
            self.sync_enforcers();
        }
        Ok(expired)
    }

    /// Automatic blocking: the first policy that matches a new incident
    /// blocks its source IP (unless allowlisted or already blocked). Only new
    /// incidents: when an analyst lifts a block or calls the incident a false
    /// positive, further alerts of the same incident must not block again.
    pub fn on_incident(&self, touch: &IncidentTouch) -> Option<Block> {
        if !touch.created {
            return None;
        }
        let ip = touch.source_ip?;
        if self.is_allowed(ip) || self.is_blocked(ip) {
            return None;
        }
        let policy = self.policies.iter().find(|p| p.matches(touch))?;
        let now = crate::now_ms();
        let new = NewBlock {
            net: IpNet::from(ip),
            reason: format!("{} ({})", touch.title, touch.rule_id),
            created_by: "policy".into(),
            created_ms: now,
            expires_ms: policy.duration_ms.map(|d| now + d),
            rule_id: Some(touch.rule_id.clone()),
            incident_id: Some(touch.incident_id),
        };
        match self.block(&new) {
            Ok(b) => Some(b),
            Err(e) => {
                tracing::warn!(%ip, error = %e, "automatic block failed");
                None
            }
        }
    }

    pub fn enforcer_errors(&self) -> Vec<(String, String)> {
        self.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn each_enforcer(&self, f: impl Fn(&dyn Enforcer) -> Result<(), String>) {
        for e in &self.enforcers {
            if let Err(msg) = f(e.as_ref()) {
                tracing::warn!(enforcer = e.name(), error = %msg, "enforcer failed");
                self.errors
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((e.name().to_string(), msg));
            }
        }
        let mut errs = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        let len = errs.len();
        if len > 20 {
            errs.drain(..len - 20);
        }
    }

    fn sync_enforcers(&self) {
        // Without enforcers there is nothing to give the list to.
        if self.enforcers.is_empty() {
            return;
        }
        let Ok(active) = self.store.active_blocks(crate::now_ms()) else {
            return;
        };
        self.each_enforcer(|e| e.sync(&active));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secmo_store::SqliteStore;

    fn new_block(net: &str, expires_ms: Option<i64>) -> NewBlock {
        NewBlock {
            net: net.parse().expect("net"),
            reason: "test".into(),
            created_by: "policy".into(),
            created_ms: crate::now_ms(),
            expires_ms,
            rule_id: None,
            incident_id: None,
        }
    }

    /// Blocks join the in-memory set as a reload from the store would add
    /// them: hosts, networks, and not those already expired.
    #[test]
    fn a_block_is_active_at_once_as_after_a_reload() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).expect("store"));
        let svc = BlockService::new(store, &BlockingConfig::default()).expect("service");
        let now = crate::now_ms();
        svc.block(&new_block("203.0.113.7/32", None)).expect("host");
        svc.block(&new_block("198.51.100.0/24", Some(now + 3_600_000)))
            .expect("net");
        svc.block(&new_block("192.0.2.1/32", Some(now - 1)))
            .expect("expired");
        let probe: Vec<IpAddr> = ["203.0.113.7", "203.0.113.8", "198.51.100.99", "192.0.2.1"]
            .iter()
            .map(|s| s.parse().expect("ip"))
            .collect();
        let before: Vec<bool> = probe.iter().map(|ip| svc.is_blocked(*ip)).collect();
        assert_eq!(before, vec![true, false, true, false]);
        svc.refresh().expect("refresh");
        let after: Vec<bool> = probe.iter().map(|ip| svc.is_blocked(*ip)).collect();
        assert_eq!(before, after);
    }
}
