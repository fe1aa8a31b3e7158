//! The server over real HTTP on loopback: ingestion → alert → incident →
//! block, authentication, roles, CSRF, throttling, self-protection and
//! hostile input in parameters.

mod common;

use common::*;
use serde_json::{Value, json};

const SQLI: &str = "/products?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--";

fn incidents_for(api: &Api, ip: &str) -> Vec<Value> {
    let v = api.get_json(&format!("/api/incidents?ip={ip}"));
    v["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn attack_lines_become_an_incident_and_an_automatic_block() {
    let (server, log) = TestServer::with_log("web", "access");
    let admin = server.admin();
    let ip = "203.0.113.50";
    append(
        &log,
        &access_line("198.51.100.1", "GET", "/index.html", 200, "Mozilla/5.0"),
    );
    append(&log, &access_line(ip, "GET", SQLI, 200, "Mozilla/5.0"));
    let incident = wait_for(10, "the SQL injection incident", || {
        incidents_for(&admin, ip)
            .into_iter()
            .find(|i| i["rule_id"] == "web-sqli")
    });
    assert_eq!(incident["severity"], "high");
    assert_eq!(incident["status"], "new");
    let id = incident["id"].as_i64().expect("id");
    let detail = admin.get_json(&format!("/api/incidents/{id}"));
    let evidence = detail["alerts"][0]["evidence"][0]["raw"]
        .as_str()
        .expect("evidence");
    assert!(evidence.contains("UNION%20SELECT"), "{evidence}");
    assert!(
        !detail["checklist"]
            .as_array()
            .expect("checklist")
            .is_empty(),
        "response steps"
    );
    assert!(
        detail["activity"]
            .as_array()
            .expect("activity")
            .iter()
            .any(|a| a["action"] == "created"),
        "{detail}"
    );

    // The default policy (severity ≥ high → 1 h) blocked the attacker.
    let blocks = wait_for(10, "the automatic block", || {
        let b = admin.get_json("/api/blocks");
        b.as_array()?
            .iter()
            .find(|b| b["net"] == format!("{ip}/32"))
            .cloned()
    });
    assert_eq!(blocks["created_by"], "policy");
    assert!(blocks["expires_ms"].as_i64().is_some());
    let text = admin
        .get("/api/blocklist?format=nginx")
        .text()
        .expect("text");
    assert!(text.contains(&format!("deny {ip}/32;")), "{text}");

    // Later events from the blocked IP are flagged as such.
    append(
        &log,
        &access_line(ip, "GET", "/after-block", 200, "Mozilla/5.0"),
    );
    wait_for(10, "the flagged event", || {
        let v = admin.get_json(&format!("/api/events?ip={ip}&text=after-block"));
        v["items"]
            .as_array()?
            .first()
            .filter(|e| e["blocked"] == true)
            .cloned()
    });

    // Unblock and block again through the simple shapes.
    let r = admin.post("/api/unblock", &json!({"ip": ip}));
    assert_eq!(r.status(), 200);
    assert!(
        admin
            .get_json("/api/blocks")
            .as_array()
            .expect("list")
            .is_empty()
    );
    let r = admin.post(
        "/api/block",
        &json!({"ip": "192.0.2.0/24", "reason": "test range", "duration": "10m"}),
    );
    assert_eq!(r.status(), 200);
    let active = admin.get_json("/api/blocks");
    assert_eq!(active[0]["net"], "192.0.2.0/24");
    assert_eq!(active[0]["reason"], "test range");

    // The workflow, with an audit trail.
    for (change, status) in [
        (json!({"verdict": "true_positive"}), "triaged"),
        (
            json!({"status": "investigating", "assignee": "admin"}),
            "investigating",
        ),
        (
            json!({"note": "confirmed <script>alert(1)</script> in logs"}),
            "investigating",
        ),
        (
            json!({"checklist": {"index": 0, "done": true}}),
            "investigating",
        ),
        (json!({"status": "contained"}), "contained"),
        (json!({"status": "resolved"}), "resolved"),
        (json!({"status": "closed"}), "closed"),
    ] {
        let r = admin.patch(&format!("/api/incidents/{id}"), &change);
        let code = r.status();
        let body: Value = r.json().expect("json");
        assert_eq!(code, 200, "{change}: {body}");
        assert_eq!(body["status"], status, "{change}");
    }
    let r = admin.patch(
        &format!("/api/incidents/{id}"),
        &json!({"status": "triaged"}),
    );
    assert_eq!(r.status(), 409, "closed → triaged is not a transition");
    let detail = admin.get_json(&format!("/api/incidents/{id}"));
    assert_eq!(detail["verdict"], "true_positive");
    assert_eq!(detail["assignee"], "admin");
    assert_eq!(detail["checklist"][0]["done"], true);
    assert_eq!(
        detail["notes"][0]["text"],
        "confirmed <script>alert(1)</script> in logs"
    );
    let audit = admin.get_json("/api/audit?limit=100");
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .expect("audit")
        .iter()
        .filter_map(|a| a["action"].as_str())
        .collect();
    for want in [
        "block.add",
        "block.remove",
        "incident.update",
        "login.success",
    ] {
        assert!(actions.contains(&want), "audit lacks {want}: {actions:?}");
    }
}

#[test]
fn allowlisted_addresses_are_never_blocked() {
    let (server, log) = TestServer::with_log("web", "access");
    let admin = server.admin();
    let r = admin.post("/api/block", &json!({"ip": "127.0.0.1", "reason": "x"}));
    assert_eq!(r.status(), 409, "loopback is allowlisted");
    let r = admin.post(
        "/api/allowlist",
        &json!({"ip": "198.51.100.0/24", "note": "office"}),
    );
    assert_eq!(r.status(), 200);
    let r = admin.post("/api/block", &json!({"ip": "198.51.100.7"}));
    assert_eq!(r.status(), 409);
    // An attack from the office raises an incident but no block.
    append(
        &log,
        &access_line("198.51.100.7", "GET", SQLI, 200, "Mozilla/5.0"),
    );
    wait_for(10, "the incident", || {
        incidents_for(&admin, "198.51.100.7").into_iter().next()
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        admin
            .get_json("/api/blocks")
            .as_array()
            .expect("list")
            .is_empty()
    );
}

#[test]
fn every_endpoint_refuses_anonymous_requests_but_login_health_and_metrics() {
    let server = TestServer::start(|_, _| {});
    let anon = server.anonymous();
    let mut checked = 0;
    for (method, path, _, role, _, _) in secmo_server::api::openapi::ROUTES {
        let path = path
            .replace("{id}", "1")
            .replace("{ip}", "192.0.2.1")
            .replace("{net}", "192.0.2.1");
        let r = match *method {
            "get" => anon.get(&path),
            "post" => anon.post(&path, &json!({})),
            "patch" => anon.patch(&path, &json!({})),
            "delete" => anon.delete(&path),
            other => panic!("method {other}"),
        };
        if *role == "public" {
            assert_ne!(r.status(), 401, "{method} {path} should be public");
        } else {
            assert_eq!(
                r.status(),
                401,
                "{method} {path} answered an anonymous request"
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "{checked}");
    // Security headers on every answer.
    let r = anon.get("/api/health");
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .expect("csp");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let r = anon.get("/api/openapi.json");
    let doc: Value = r.json().expect("openapi");
    assert_eq!(doc["openapi"], "3.1.0");
}

#[test]
fn viewers_change_nothing_and_cookie_changes_need_the_csrf_header() {
    let server = TestServer::start(|_, _| {});
    let viewer = server.user("vera", "viewer");
    assert_eq!(viewer.get("/api/stats").status(), 200, "viewers read");
    for (path, body) in [
        ("/api/block", json!({"ip": "192.0.2.9"})),
        ("/api/blocks", json!({"ip": "192.0.2.9"})),
        ("/api/unblock", json!({"ip": "192.0.2.9"})),
        (
            "/api/users",
            json!({"name": "x", "role": "admin", "password": "0123456789ab"}),
        ),
        ("/api/tokens", json!({"name": "t"})),
        ("/api/allowlist", json!({"ip": "192.0.2.9"})),
        ("/api/analyze?keep=true", json!({"text": "x"})),
    ] {
        assert_eq!(viewer.post(path, &body).status(), 403, "viewer POST {path}");
    }
    assert_eq!(
        viewer
            .patch("/api/incidents/1", &json!({"status": "closed"}))
            .status(),
        403
    );
    assert_eq!(viewer.get("/api/audit").status(), 403);

    let analyst = server.user("ana", "analyst");
    assert_eq!(
        analyst
            .post("/api/block", &json!({"ip": "192.0.2.10"}))
            .status(),
        200
    );
    assert_eq!(
        analyst
            .post(
                "/api/users",
                &json!({"name": "y", "role": "admin", "password": "0123456789ab"})
            )
            .status(),
        403
    );

    // CSRF: the same session without the header is refused; reads don't need it.
    let mut admin = server.admin();
    let csrf = admin.csrf.take();
    assert_eq!(
        admin
            .post("/api/block", &json!({"ip": "192.0.2.11"}))
            .status(),
        403
    );
    assert_eq!(admin.get("/api/blocks").status(), 200);
    admin.csrf = Some("wrong".into());
    assert_eq!(
        admin
            .post("/api/block", &json!({"ip": "192.0.2.11"}))
            .status(),
        403
    );
    admin.csrf = csrf;
    assert_eq!(
        admin
            .post("/api/block", &json!({"ip": "192.0.2.11"}))
            .status(),
        200
    );

    // API tokens: no cookie, no CSRF header, shown once, revocable.
    let created: Value = admin
        .post("/api/tokens", &json!({"name": "script"}))
        .json()
        .expect("json");
    let secret = created["secret"].as_str().expect("secret").to_string();
    let mut script = server.anonymous();
    script.token = Some(secret);
    assert_eq!(
        script
            .post("/api/unblock", &json!({"ip": "192.0.2.11"}))
            .status(),
        200
    );
    let listed = admin.get("/api/tokens").text().expect("text");
    assert!(
        !listed.contains(created["secret"].as_str().expect("secret")),
        "secrets are not listed"
    );
    let id = created["id"].as_i64().expect("id");
    assert_eq!(admin.delete(&format!("/api/tokens/{id}")).status(), 200);
    assert_eq!(script.get("/api/blocks").status(), 401, "revoked");

    // Logout ends the session.
    assert_eq!(viewer.post("/api/auth/logout", &json!({})).status(), 200);
    assert_eq!(viewer.get("/api/stats").status(), 401);
}

#[test]
fn dashboard_brute_force_is_throttled_detected_and_blocked() {
    let server = TestServer::start(|cfg, _| {
        cfg.auth.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
        cfg.auth.login_max_failures = 5;
    });
    let anon = server.anonymous();
    let login = |xff: Option<&str>, password: &str| {
        let mut rb = anon.client.post(server.url("/api/auth/login"));
        if let Some(ip) = xff {
            rb = rb.header("x-forwarded-for", ip);
        }
        rb.json(&json!({"username": "admin", "password": password}))
            .send()
            .expect("login")
            .status()
            .as_u16()
    };
    // Throttling: loopback is allowlisted (never blocked), so only the throttle stops it.
    let codes: Vec<u16> = (0..7).map(|i| login(None, &format!("guess{i}"))).collect();
    assert_eq!(codes, [401, 401, 401, 401, 401, 429, 429]);
    // From a remote address behind the trusted proxy: detection blocks it.
    let attacker = "198.51.100.77";
    for i in 0..5 {
        let code = login(Some(attacker), &format!("guess{i}"));
        assert!(code == 401 || code == 403, "{code}");
    }
    // The real admin (another address) still gets in.
    let admin = server.login_from("203.0.113.200", "admin", ADMIN_PASSWORD);
    // Our own activity log is watched by the same rules: D-01 fires and the default policy blocks.
    let inc = wait_for(15, "the D-01 incident", || {
        incidents_for(&admin, attacker)
            .into_iter()
            .find(|i| i["rule_id"] == "D-01")
    });
    assert_eq!(inc["severity"], "high");
    wait_for(10, "the block", || {
        let r = anon
            .client
            .get(server.url("/api/health"))
            .header("x-forwarded-for", attacker)
            .send()
            .ok()?;
        // Health stays reachable; everything else is refused, even the right password.
        (r.status() == 200 && login(Some(attacker), ADMIN_PASSWORD) == 403).then_some(())
    });
}

#[test]
fn hostile_parameters_are_harmless() {
    let (server, log) = TestServer::with_log("web", "access");
    let admin = server.admin();
    let evil_user_agent = "Mozilla'; DROP TABLE events; -- $(touch /tmp/secmo-ua) `id` %s %n";
    append(
        &log,
        &access_line("192.0.2.33", "GET", "/a'b\"c;ls|id", 200, evil_user_agent),
    );
    wait_for(10, "the event", || {
        let v = admin.get_json("/api/events?ip=192.0.2.33");
        v["items"].as_array()?.first().cloned()
    });
    let enc = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
    for q in [
        "'; DROP TABLE events; --",
        "%",
        "_",
        "\\",
        "\" OR 1=1 --",
        "$(reboot)",
        "`id`",
        "../../etc/passwd",
        "\u{0}",
    ] {
        for param in [
            "text", "user", "kind", "source", "cursor", "since", "category", "ip", "status",
        ] {
            let r = admin.get(&format!("/api/events?{param}={}", enc(q)));
            assert!(
                r.status() == 200 || r.status() == 400,
                "{param}={q:?}: {}",
                r.status()
            );
        }
        for path in [
            "/api/incidents?sort=",
            "/api/incidents?rule=",
            "/api/alerts?user=",
            "/api/ips/",
        ] {
            let r = admin.get(&format!("{path}{}", enc(q)));
            assert!(
                r.status() == 200 || r.status() == 400 || r.status() == 404,
                "{path}{q:?}: {}",
                r.status()
            );
        }
        let r = admin.post("/api/block", &json!({"ip": q, "reason": q}));
        assert_eq!(r.status(), 400, "{q:?} is not an IP");
    }
    // The text search found the literal quote, and everything is still there.
    let v = admin.get_json(&format!("/api/events?text={}", enc("DROP TABLE events")));
    assert_eq!(v["items"].as_array().expect("items").len(), 1);
    let v = admin.get_json("/api/events?text=%25");
    assert_eq!(
        v["items"].as_array().expect("items").len(),
        1,
        "% is literal (the UA has one)"
    );
    assert!(!std::path::Path::new("/tmp/secmo-ua").exists());
    assert_eq!(admin.get("/api/stats").status(), 200);
}
