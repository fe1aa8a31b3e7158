//! The OpenAPI 3.1 document served at /api/openapi.json. Written by hand from
//! one table; a test checks that every route of the router is in it.

use axum::Json;
use serde_json::{Value, json};

/// (method, path, summary, minimum role or "public", query parameters, request body description)
/// (method, path, summary, role, query parameters, request body)
pub type Route = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    Option<&'static str>,
);

pub const ROUTES: &[Route] = &[
    (
        "get",
        "/api/health",
        "Liveness and degraded state (store or enforcer errors).",
        "public",
        &[],
        None,
    ),
    (
        "get",
        "/api/metrics",
        "Prometheus metrics (public unless auth.public_metrics = false).",
        "public",
        &[],
        None,
    ),
    (
        "get",
        "/api/openapi.json",
        "This document.",
        "public",
        &[],
        None,
    ),
    (
        "post",
        "/api/auth/login",
        "Log in: sets the session cookie, returns the user and the CSRF token. Throttled after repeated failures (429).",
        "public",
        &[],
        Some("{username, password}"),
    ),
    (
        "post",
        "/api/auth/logout",
        "End the session.",
        "viewer",
        &[],
        None,
    ),
    (
        "get",
        "/api/auth/me",
        "The current user and CSRF token.",
        "viewer",
        &[],
        None,
    ),
    ("get", "/api/users", "List users.", "admin", &[], None),
    (
        "post",
        "/api/users",
        "Create a user.",
        "admin",
        &[],
        Some("{name, role, password}"),
    ),
    (
        "patch",
        "/api/users/{id}",
        "Change role, password or disabled (own password: any role).",
        "viewer",
        &[],
        Some("{role?, password?, disabled?}"),
    ),
    (
        "delete",
        "/api/users/{id}",
        "Delete a user, their sessions and tokens.",
        "admin",
        &[],
        None,
    ),
    (
        "get",
        "/api/tokens",
        "List API tokens (never their secrets).",
        "admin",
        &[],
        None,
    ),
    (
        "post",
        "/api/tokens",
        "Create an API token; the secret is returned once.",
        "admin",
        &[],
        Some("{name, user_id?, expires_days?}"),
    ),
    (
        "delete",
        "/api/tokens/{id}",
        "Revoke a token.",
        "admin",
        &[],
        None,
    ),
    (
        "get",
        "/api/stats",
        "Counts by severity, category, status class and kind; timeline; top IPs, paths, referrers, attackers.",
        "viewer",
        &["since", "until", "bucket", "top"],
        None,
    ),
    (
        "get",
        "/api/events",
        "Stored events, newest first, keyset-paginated.",
        "viewer",
        &[
            "ip",
            "user",
            "kind",
            "source",
            "status",
            "status_class",
            "category",
            "flagged",
            "since",
            "until",
            "text",
            "cursor",
            "limit",
        ],
        None,
    ),
    ("get", "/api/events/{id}", "One event.", "viewer", &[], None),
    (
        "get",
        "/api/ips/{ip}",
        "Everything about one IP: summary, block state, incidents, alerts, recent events.",
        "viewer",
        &[],
        None,
    ),
    (
        "get",
        "/api/alerts",
        "Alerts (per incident, source, rule and attacker).",
        "viewer",
        &[
            "rule",
            "ip",
            "user",
            "min_severity",
            "category",
            "incident",
            "since",
            "until",
            "cursor",
            "limit",
        ],
        None,
    ),
    (
        "get",
        "/api/incidents",
        "Incidents with filters and sort.",
        "viewer",
        &[
            "status",
            "open",
            "min_severity",
            "category",
            "rule",
            "ip",
            "user",
            "assignee",
            "sort",
            "since_ms",
            "until_ms",
            "cursor",
            "limit",
        ],
        None,
    ),
    (
        "get",
        "/api/incidents/{id}",
        "An incident with alerts, evidence, checklist, notes and activity.",
        "viewer",
        &[],
        None,
    ),
    (
        "patch",
        "/api/incidents/{id}",
        "Workflow: status, verdict, assignee, note, checklist tick.",
        "analyst",
        &[],
        Some("{status?, verdict?, assignee?, note?, checklist?: {index, done}}"),
    ),
    (
        "post",
        "/api/incidents/{id}/block",
        "Block the incident's source IP.",
        "analyst",
        &[],
        Some("{duration?, reason?}"),
    ),
    ("get", "/api/blocks", "Active blocks.", "viewer", &[], None),
    (
        "post",
        "/api/blocks",
        "Block an IP or CIDR.",
        "analyst",
        &[],
        Some("{ip, reason?, duration? | expires_ms?}"),
    ),
    (
        "get",
        "/api/blocks/history",
        "All blocks including lifted ones.",
        "viewer",
        &["cursor", "limit"],
        None,
    ),
    (
        "delete",
        "/api/blocks/{net}",
        "Lift a block (CIDR with %2F or _ for /).",
        "analyst",
        &[],
        None,
    ),
    (
        "post",
        "/api/block",
        "Block: the simple shape `{\"ip\",\"reason\"}`.",
        "analyst",
        &[],
        Some("{ip, reason}"),
    ),
    (
        "post",
        "/api/unblock",
        "Unblock: the simple shape `{\"ip\"}`.",
        "analyst",
        &[],
        Some("{ip}"),
    ),
    (
        "get",
        "/api/blocklist",
        "Active blocks as text, nginx deny lines or JSON, for enforcement elsewhere.",
        "viewer",
        &["format"],
        None,
    ),
    (
        "get",
        "/api/allowlist",
        "Configured and stored allowlist.",
        "viewer",
        &[],
        None,
    ),
    (
        "post",
        "/api/allowlist",
        "Add a network that is never blocked.",
        "admin",
        &[],
        Some("{ip, note?}"),
    ),
    (
        "delete",
        "/api/allowlist/{id}",
        "Remove an allowlist entry.",
        "admin",
        &[],
        None,
    ),
    (
        "get",
        "/api/sources",
        "Watched sources: files, rate, lag, parse errors, last error.",
        "viewer",
        &[],
        None,
    ),
    (
        "get",
        "/api/audit",
        "Audit log of changes made through the API.",
        "admin",
        &["cursor", "limit"],
        None,
    ),
    (
        "get",
        "/api/rules",
        "Loaded detection rules.",
        "viewer",
        &[],
        None,
    ),
    (
        "post",
        "/api/analyze",
        "Analyse an uploaded or pasted log (multipart file, raw body, or {\"text\"}); returns the report; keep=true records its alerts as incidents (analyst).",
        "viewer",
        &["format", "keep", "name"],
        Some("the log"),
    ),
    (
        "get",
        "/api/stream",
        "Server-Sent Events: events (sampled), incident, block, unblock, lagged.",
        "viewer",
        &[],
        None,
    ),
    (
        "get",
        "/api/reports",
        "Stored reports, newest first.",
        "viewer",
        &["cursor", "limit"],
        None,
    ),
    (
        "post",
        "/api/reports",
        "Make a report of a period now (analyst); optionally e-mail it. Returns the report's metadata and the queued outbox ids.",
        "analyst",
        &[],
        Some("{since: \"24h\" | since_ms, until_ms, language: en|es|de, send_to: [addresses]}"),
    ),
    (
        "get",
        "/api/reports/{id}",
        "A stored report: {meta, doc}.",
        "viewer",
        &[],
        None,
    ),
    (
        "get",
        "/api/reports/{id}/download",
        "A stored report rendered as a file (html, pdf, csv, json, txt) in a language.",
        "viewer",
        &["format", "lang"],
        None,
    ),
    (
        "post",
        "/api/reports/{id}/send",
        "E-mail a stored report (analyst).",
        "analyst",
        &[],
        Some("{to: [addresses], language}"),
    ),
    (
        "get",
        "/api/notifications",
        "Delivery settings (secrets left out) and outbox counts (pending, failing, sent, dead).",
        "viewer",
        &[],
        None,
    ),
    (
        "get",
        "/api/notifications/outbox",
        "Messages queued, sent or given up, newest first, with attempts and the last error.",
        "viewer",
        &["status", "cursor", "limit"],
        None,
    ),
    (
        "post",
        "/api/notifications/outbox/{id}/retry",
        "Try a pending or dead message again now (admin).",
        "admin",
        &[],
        None,
    ),
    (
        "post",
        "/api/notifications/test",
        "Queue a test message on a channel (admin).",
        "admin",
        &[],
        Some("{channel: email|slack|telegram|webhook, to: [addresses]}"),
    ),
];

pub fn build() -> Value {
    let mut paths = serde_json::Map::new();
    for (method, path, summary, role, params, body) in ROUTES {
        let mut op = json!({
            "summary": summary,
            "x-secmo-role": role,
            "responses": {
                "200": {"description": "OK (JSON unless stated)"},
                "400": {"description": "Invalid input", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            }
        });
        if *role != "public" {
            op["security"] = json!([{"session": []}, {"token": []}]);
            op["responses"]["401"] = json!({"description": "Not authenticated"});
            op["responses"]["403"] =
                json!({"description": "Role too low, blocked address, or missing CSRF header"});
        }
        let mut parameters: Vec<Value> = params
            .iter()
            .map(|p| json!({"name": p, "in": "query", "required": false, "schema": {"type": "string"}}))
            .collect();
        for seg in path.split('/') {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                parameters.push(json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}));
            }
        }
        if !parameters.is_empty() {
            op["parameters"] = Value::Array(parameters);
        }
        if let Some(b) = body {
            op["requestBody"] = json!({"description": b, "content": {"application/json": {"schema": {"type": "object"}}}});
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "secmo API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Security log monitoring: events, alerts, incidents, blocks. Cookie sessions must send the x-csrf-token header with every change."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "secmo_session"},
                "token": {"type": "http", "scheme": "bearer"}
            },
            "schemas": {
                "Error": {"type": "object", "properties": {"error": {"type": "string"}, "message": {"type": "string"}}}
            }
        }
    })
}

pub async fn document() -> Json<Value> {
    Json(build())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `.route("...")` in the router is documented, with each method.
    #[test]
    fn every_route_is_documented() {
        let src = include_str!("mod.rs");
        let doc = build();
        let mut checked = 0;
        // Each `.route(` call up to the next one (rustfmt may spread a call over lines).
        for call in src.split(".route(").skip(1) {
            let Some(rest) = call.trim_start().strip_prefix('"') else {
                continue;
            };
            let Some((path, handlers)) = rest.split_once('"') else {
                continue;
            };
            if path == "/" || path == "/metrics" {
                continue;
            }
            let full = format!("/api{path}");
            for method in ["get", "post", "patch", "delete"] {
                if handlers.contains(&format!("{method}(")) {
                    assert!(
                        doc["paths"][&full][method].is_object(),
                        "{method} {full} is routed but not in the OpenAPI document"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked >= 35, "only {checked} routes found");
    }
}
