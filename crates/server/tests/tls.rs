//! Optional TLS: a certificate from openssl, checked by curl against it.

mod common;

use common::*;
use std::process::Command;

#[test]
fn serves_https_with_secure_cookies() {
    let certs = tempfile::tempdir().expect("tempdir");
    let cert = certs.path().join("cert.pem");
    let key = certs.path().join("key.pem");
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is needed for this test (apt-get install openssl)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (c2, k2) = (cert.clone(), key.clone());
    let server = TestServer::start(move |cfg, _| {
        cfg.tls = Some(secmo_server::config::TlsConfig { cert: c2, key: k2 });
    });
    let url = format!("https://{}/api/auth/login", server.addr);
    let out = Command::new("curl")
        .args(["-sS", "-i", "--cacert"])
        .arg(&cert)
        .args(["-H", "content-type: application/json", "-d"])
        .arg(format!(
            "{{\"username\":\"admin\",\"password\":\"{ADMIN_PASSWORD}\"}}"
        ))
        .arg(&url)
        .output()
        .expect("curl is needed for this test (apt-get install curl)");
    let text = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.starts_with("http/1.1 200") || text.starts_with("http/2 200"),
        "{text}"
    );
    let cookie = text
        .lines()
        .find(|l| l.starts_with("set-cookie:"))
        .expect("cookie");
    for attr in ["httponly", "samesite=strict", "secure"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(text.contains("strict-transport-security"), "{text}");
    // Plain HTTP to the TLS port gets nowhere.
    let plain = Command::new("curl")
        .args(["-sS", "-m", "5"])
        .arg(format!("http://{}/api/health", server.addr))
        .output()
        .expect("curl");
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("\"ok\""));
}
