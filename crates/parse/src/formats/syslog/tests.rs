use super::*;
use secmo_event::{Action, Outcome};

fn parser() -> SyslogParser {
    SyslogParser::new(&ParserOptions {
        year: 2024,
        reference_ms: None,
        ..ParserOptions::default()
    })
}

fn event(line: &str) -> Event<'_> {
    match parser().parse(line) {
        Ok(Parsed::Event(ev)) => ev,
        other => panic!("not an event: {other:?} for {line}"),
    }
}

fn sshd(msg: &str) -> Event<'static> {
    event(&format!(
        "Mar 27 13:06:56 ip-10-77-20-248 sshd[1291]: {msg}"
    ))
    .into_owned()
}

fn ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

#[test]
fn rfc3164_header() {
    let ev =
        event("Mar 27 13:06:56 ip-10-77-20-248 sshd[1291]: Server listening on 0.0.0.0 port 22.");
    assert_eq!(ev.host, "ip-10-77-20-248");
    assert_eq!(ev.program, "sshd");
    assert_eq!(ev.message, "Server listening on 0.0.0.0 port 22.");
    assert_eq!(ev.kind, EventKind::Auth);
    assert_eq!(ev.action, Action::None);
    // 2024-03-27T13:06:56Z
    assert_eq!(ev.timestamp_ms, Some(1_711_544_816_000));
    let ev = event(
        "<34>Nov  3 09:23:38 veridian automount[7998]: lookup(file): lookup for foobar failed",
    );
    assert_eq!(
        (ev.host.as_ref(), ev.program.as_ref()),
        ("veridian", "automount")
    );
    assert_eq!(ev.kind, EventKind::System);
    assert_eq!(
        event("Nov 03 09:23:38 h p: m").timestamp_ms,
        event("Nov  3 09:23:38 h p: m").timestamp_ms
    );
}

#[test]
fn header_variants_without_host_or_tag() {
    let ev = event("Mar 27 13:06:56 sshd[12]: Invalid user x from 1.2.3.4");
    assert_eq!((ev.host.as_ref(), ev.program.as_ref()), ("", "sshd"));
    assert_eq!(ev.action, Action::InvalidUser);
    let ev = event("Nov  3 09:23:38 veridian lookup for opt failed");
    assert_eq!((ev.host.as_ref(), ev.program.as_ref()), ("veridian", ""));
    assert_eq!(ev.message, "lookup for opt failed");
}

#[test]
fn year_rollover_uses_reference() {
    // Reference: 2024-01-05; a December line belongs to 2023.
    let reference = civil_to_unix(2024, 1, 5, 0, 0, 0, 0, 0);
    let p = SyslogParser::new(&ParserOptions {
        year: 2024,
        reference_ms: reference,
        ..ParserOptions::default()
    });
    let Ok(Parsed::Event(dec)) = p.parse("Dec 31 23:00:00 h p: m") else {
        panic!("no event")
    };
    assert_eq!(
        dec.timestamp_ms,
        civil_to_unix(2023, 12, 31, 23, 0, 0, 0, 0)
    );
    let Ok(Parsed::Event(jan)) = p.parse("Jan  5 12:00:00 h p: m") else {
        panic!("no event")
    };
    assert_eq!(jan.timestamp_ms, civil_to_unix(2024, 1, 5, 12, 0, 0, 0, 0));
    assert_eq!(
        year_of_ms(civil_to_unix(2024, 2, 29, 0, 0, 0, 0, 0).unwrap_or(0)),
        2024
    );
    assert_eq!(
        year_of_ms(civil_to_unix(1999, 12, 31, 23, 59, 59, 0, 0).unwrap_or(0)),
        1999
    );
    // Year 0 means the current year; it must be a plausible one.
    let (year, reference) = resolve_year(&ParserOptions::default());
    assert!(year >= 2024 && reference.is_some());
}

#[test]
fn iso_and_rfc5424() {
    let ev = event(
        "2024-03-01T12:00:00.123456+01:00 web1 sshd[77]: Accepted publickey for deploy from 10.0.0.5 port 50000 ssh2: RSA SHA256:abc",
    );
    assert_eq!(ev.timestamp_ms, Some(1_709_290_800_123));
    assert_eq!((ev.host.as_ref(), ev.user.as_ref()), ("web1", "deploy"));
    assert_eq!(
        (ev.action, ev.outcome),
        (Action::LoginSuccess, Outcome::Success)
    );
    assert_eq!(ev.source_ip, ip("10.0.0.5"));
    let ev = event(
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Appl]ication\"] An application event",
    );
    assert_eq!(ev.timestamp_ms, Some(1_065_910_455_003));
    assert_eq!(
        (ev.host.as_ref(), ev.program.as_ref()),
        ("mymachine.example.com", "evntslog")
    );
    assert_eq!(ev.message, "An application event");
    let ev = event(
        "<34>1 2003-10-11T22:14:15.003Z host sshd 42 - - Failed password for root from 192.0.2.1 port 2 ssh2",
    );
    assert_eq!(
        (ev.action, ev.user.as_ref()),
        (Action::LoginFailure, "root")
    );
    let ev = event("<34>1 - - - - - -");
    assert_eq!((ev.timestamp_ms, ev.message.as_ref()), (None, ""));
}

#[test]
fn rejects_non_syslog() {
    let p = parser();
    for line in [
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 2326",
        "{\"a\":1}",
        "2024-01-01 12:00:00.123 UTC [1234] LOG:  x",
        "2020-08-06T14:25:02.835618Z 0 [Note] [MY-012487] [InnoDB] DDL log recovery : begin",
        "<999999>Mar 27 13:06:56 h p: m",
        "<34>1 2003-10-11T22:14:15.003Z host app - - [unterminated",
        "Foo 27 13:06:56 h p: m",
        "Mar 27 13:6:56 h p: m",
        "août 19 11:08:37 nlaptop symphorien[4961]: test",
    ] {
        assert!(p.parse(line).is_err(), "{line}");
    }
    assert_eq!(p.parse("\tcontinued"), Ok(Parsed::Skip));
    assert_eq!(p.parse(""), Ok(Parsed::Skip));
}

#[test]
fn sshd_failed_password() {
    let ev = sshd("Failed password for root from 122.226.181.167 port 59420 ssh2");
    assert_eq!(
        (ev.action, ev.outcome),
        (Action::LoginFailure, Outcome::Failure)
    );
    assert_eq!(
        (ev.user.as_ref(), ev.source_ip),
        ("root", ip("122.226.181.167"))
    );
    let ev = sshd("Failed password for invalid user admin from 2001:db8::1 port 1 ssh2");
    assert_eq!(
        (ev.user.as_ref(), ev.source_ip),
        ("admin", ip("2001:db8::1"))
    );
    let ev = sshd("Failed password for invalid user  from 1.2.3.4 port 1 ssh2");
    assert_eq!(
        (ev.action, ev.user.as_ref(), ev.source_ip),
        (Action::LoginFailure, "", ip("1.2.3.4"))
    );
    let ev = sshd("Failed password for invalid user john smith from 1.2.3.4 port 1 ssh2");
    assert_eq!(ev.user, "john smith");
    let ev = sshd("Failed publickey for git from 1.2.3.4 port 1 ssh2: RSA SHA256:x");
    assert_eq!((ev.action, ev.user.as_ref()), (Action::LoginFailure, "git"));
    let ev = sshd("Failed keyboard-interactive/pam for invalid user a from 1.2.3.4 port 1 ssh2");
    assert_eq!((ev.action, ev.user.as_ref()), (Action::LoginFailure, "a"));
    let ev = sshd("message repeated 2 times: [ Failed password for root from 5.6.7.8 port 3 ssh2]");
    assert_eq!(
        (ev.action, ev.user.as_ref(), ev.source_ip),
        (Action::LoginFailure, "root", ip("5.6.7.8"))
    );
    // Not a failure: the words appear, the shape does not.
    assert_eq!(sshd("Server listening on :: port 22.").action, Action::None);
}

#[test]
fn sshd_invalid_user_and_too_many() {
    let ev = sshd("Invalid user ubnt from 1.2.3.4 port 5");
    assert_eq!(
        (ev.action, ev.outcome, ev.user.as_ref()),
        (Action::InvalidUser, Outcome::Failure, "ubnt")
    );
    assert_eq!(ev.source_ip, ip("1.2.3.4"));
    let ev = sshd("Invalid user  from 1.2.3.4");
    assert_eq!(
        (ev.action, ev.user.as_ref(), ev.source_ip),
        (Action::InvalidUser, "", ip("1.2.3.4"))
    );
    let ev = sshd("Disconnecting: Too many authentication failures [preauth]");
    assert_eq!(
        (ev.action, ev.outcome),
        (Action::TooManyFailures, Outcome::Failure)
    );
    let ev = sshd(
        "error: maximum authentication attempts exceeded for invalid user x from 9.9.9.9 port 4 ssh2 [preauth]",
    );
    assert_eq!(
        (ev.action, ev.user.as_ref(), ev.source_ip),
        (Action::TooManyFailures, "x", ip("9.9.9.9"))
    );
    let ev = sshd(
        "Disconnecting authenticating user root 9.9.9.9 port 4: Too many authentication failures [preauth]",
    );
    assert_eq!(
        (ev.action, ev.user.as_ref(), ev.source_ip),
        (Action::TooManyFailures, "root", ip("9.9.9.9"))
    );
    let ev = sshd("Disconnecting: Too many authentication failures for root [preauth]");
    assert_eq!(
        (ev.action, ev.user.as_ref()),
        (Action::TooManyFailures, "root")
    );
    let ev = sshd("input_userauth_request: invalid user pi [preauth]");
    assert_eq!((ev.action, ev.user.as_ref()), (Action::None, "pi"));
}

#[test]
fn sshd_connection_lines_fill_ip_and_user() {
    let ev = sshd("Received disconnect from 5.6.7.8 port 1:11: Bye Bye [preauth]");
    assert_eq!((ev.action, ev.source_ip), (Action::None, ip("5.6.7.8")));
    let ev = sshd("Connection closed by authenticating user root 5.6.7.8 port 2 [preauth]");
    assert_eq!((ev.user.as_ref(), ev.source_ip), ("root", ip("5.6.7.8")));
    let ev = sshd("Connection closed by invalid user  5.6.7.8 port 2 [preauth]");
    assert_eq!((ev.user.as_ref(), ev.source_ip), ("", ip("5.6.7.8")));
    let ev = sshd("Connection closed by 5.6.7.8 port 2 [preauth]");
    assert_eq!((ev.action, ev.source_ip), (Action::None, ip("5.6.7.8")));
    let ev = sshd("Did not receive identification string from 5.6.7.8");
    assert_eq!(ev.source_ip, ip("5.6.7.8"));
}

#[test]
fn pam_failures() {
    let ev = sshd(
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=root",
    );
    assert_eq!(
        (ev.action, ev.user.as_ref(), ev.source_ip),
        (Action::LoginFailure, "root", ip("1.2.3.4"))
    );
    let ev = sshd(
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=host.example.com",
    );
    assert_eq!(
        (ev.action, ev.user.as_ref(), ev.source_ip),
        (Action::LoginFailure, "", None)
    );
    let ev = sshd(
        "PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=root",
    );
    assert_eq!(
        (ev.action, ev.user.as_ref(), ev.source_ip),
        (Action::LoginFailure, "root", ip("1.2.3.4"))
    );
    assert_eq!(
        sshd("PAM service(sshd) ignoring max retries; 6 > 3").action,
        Action::None
    );
    assert_eq!(
        sshd("pam_unix(sshd:auth): check pass; user unknown").action,
        Action::None
    );
    let ev = event(
        "Mar 27 13:06:56 h CRON[1]: pam_unix(cron:session): session opened for user root by (uid=0)",
    );
    assert_eq!(
        (ev.kind, ev.action, ev.user.as_ref()),
        (EventKind::Auth, Action::None, "root")
    );
}

#[test]
fn sudo_lines() {
    let ev = event(
        "Nov  3 09:47:02 veridian sudo: timstack : TTY=pts/6 ; PWD=/auto ; USER=root ; COMMAND=/usr/bin/tail /var/log/messages",
    );
    assert_eq!(
        (ev.kind, ev.action, ev.outcome),
        (EventKind::Auth, Action::PrivilegeChange, Outcome::Success)
    );
    assert_eq!(ev.user, "timstack");
    assert!(
        ev.message
            .ends_with("COMMAND=/usr/bin/tail /var/log/messages")
    );
    let ev = event(
        "Nov  3 09:47:02 h sudo:   eve : user NOT in sudoers ; TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/sh",
    );
    assert_eq!(
        (ev.action, ev.outcome, ev.user.as_ref()),
        (Action::PrivilegeChange, Outcome::Failure, "eve")
    );
    let ev = event(
        "Nov  3 09:47:02 h sudo: eve : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/sh",
    );
    assert_eq!(ev.outcome, Outcome::Failure);
    let ev = event("Nov  3 09:47:02 h sudo: pam_unix(sudo:session): session closed for user root");
    assert_eq!((ev.action, ev.user.as_ref()), (Action::None, "root"));
    let ev = event("Nov  3 09:47:02 h sudo: eve : unable to resolve host h");
    assert_eq!(ev.action, Action::None);
}

#[test]
fn su_lines() {
    let ev = event("Mar 27 13:06:56 h su[5]: Successful su for root by ubuntu");
    assert_eq!(
        (ev.action, ev.outcome, ev.user.as_ref()),
        (Action::PrivilegeChange, Outcome::Success, "ubuntu")
    );
    let ev = event("Mar 27 13:06:56 h su[5]: FAILED su for root by mallory");
    assert_eq!(
        (ev.outcome, ev.user.as_ref()),
        (Outcome::Failure, "mallory")
    );
    let ev = event(
        "Mar 27 13:06:56 h su[5]: pam_unix(su:auth): authentication failure; logname=mallory uid=1000 euid=0 tty=/dev/pts/0 ruser=mallory rhost=  user=root",
    );
    assert_eq!(
        (ev.action, ev.outcome, ev.user.as_ref()),
        (Action::PrivilegeChange, Outcome::Failure, "mallory")
    );
    let ev = event("Mar 27 13:06:56 h su[5]: FAILED SU (to root) mallory on pts/1");
    assert_eq!(
        (ev.outcome, ev.user.as_ref()),
        (Outcome::Failure, "mallory")
    );
    assert_eq!(
        event("Mar 27 13:06:56 h su[5]: + /dev/pts/0 root:root").action,
        Action::None
    );
}

#[test]
fn login_lines() {
    let ev = event(
        "Mar 27 13:06:56 h login[5]: FAILED LOGIN (1) on '/dev/tty1' FOR 'bob', Authentication failure",
    );
    assert_eq!((ev.action, ev.user.as_ref()), (Action::LoginFailure, "bob"));
}

#[test]
fn database_programs_are_classified() {
    let ev = event(
        "Feb 11 13:15:39 test-pc postgres[10808]: [5-1] db=shop,user=bob,app=psql,client=10.0.0.2 FATAL:  password authentication failed for user \"bob\"",
    );
    assert_eq!(
        (ev.kind, ev.action, ev.user.as_ref()),
        (EventKind::Db, Action::LoginFailure, "bob")
    );
    assert_eq!(ev.source_ip, ip("10.0.0.2"));
    assert_eq!(
        ev.message,
        "password authentication failed for user \"bob\""
    );
    assert_eq!(ev.host, "test-pc");
    let ev = event(
        "Feb 11 13:15:39 h mysqld[1]: 2024-01-01T12:00:00.123456Z 8 [Warning] [MY-010055] [Server] Access denied for user 'root'@'1.2.3.4' (using password: YES)",
    );
    assert_eq!(
        (ev.kind, ev.action, ev.user.as_ref()),
        (EventKind::Db, Action::LoginFailure, "root")
    );
    assert_eq!(ev.timestamp_ms, Some(1_707_657_339_000));
    let ev = event(
        "Feb 11 13:15:39 h mariadbd[1]: Access denied for user 'a'@'localhost' (using password: NO)",
    );
    assert_eq!((ev.kind, ev.action), (EventKind::Db, Action::LoginFailure));
    let ev = event(
        "2019-03-14T00:22:56+00:00 app[postgres.4882]: [GREEN] [15-1]  sql_error_code = 28P01 FATAL:  password authentication failed for user \"x\"",
    );
    assert_eq!(
        (ev.program.as_ref(), ev.action, ev.user.as_ref()),
        ("postgres", Action::LoginFailure, "x")
    );
    let ev = event("Feb 11 13:15:39 h postgres[1]: something unprefixed");
    assert_eq!(
        (ev.kind, ev.message.as_ref()),
        (EventKind::Db, "something unprefixed")
    );
}

#[test]
fn helpers() {
    assert_eq!(
        key_value("ruser= rhost=1.2.3.4  user=root", "user"),
        Some("root")
    );
    assert_eq!(key_value("a=1,user=x,b=2", "user"), Some("x"));
    assert_eq!(key_value("nouser", "user"), None);
    assert_eq!(parse_ip("[::1]"), ip("::1"));
    assert_eq!(parse_ip("10.0.0.1(5432)"), ip("10.0.0.1"));
    assert_eq!(parse_ip("[::1](5432)"), ip("::1"));
    assert_eq!(parse_ip("fe80::1%eth0"), ip("fe80::1"));
    assert_eq!(parse_ip("[local]"), None);
    assert_eq!(parse_ip("example.com"), None);
}

#[test]
fn attacker_chosen_names_cannot_move_the_address() {
    let ev = sshd("Connection closed by invalid user a 6.6.6.6 port 1 x 5.6.7.8 port 2 [preauth]");
    assert_eq!(ev.source_ip, ip("5.6.7.8"));
    let ev = sshd("Invalid user a from 6.6.6.6 port 1 from 5.6.7.8 port 2");
    assert_eq!(
        (ev.user.as_ref(), ev.source_ip),
        ("a from 6.6.6.6 port 1", ip("5.6.7.8"))
    );
    let ev = sshd(
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=5.6.7.8  user=x rhost=6.6.6.6 user=y",
    );
    assert_eq!(
        (ev.user.as_ref(), ev.source_ip),
        ("x rhost=6.6.6.6 user=y", ip("5.6.7.8"))
    );
    assert_eq!(
        key_values("a=1 b=2 a=3", "a").collect::<Vec<_>>(),
        ["1", "3"]
    );
}
