use super::*;

fn parse(line: &str) -> Event<'_> {
    match PostgresLogParser::new(&ParserOptions::default()).parse(line) {
        Ok(Parsed::Event(ev)) => ev,
        other => panic!("not an event: {other:?} for {line}"),
    }
}

#[test]
fn password_failure_with_prefix_client() {
    let ev = parse(
        "2024-01-01 12:00:00 CET [1234]: [3-1] user=postgres,db=test,app=psql,client=10.1.2.3 FATAL:  password authentication failed for user \"admin\"",
    );
    assert_eq!(ev.action, Action::LoginFailure);
    assert_eq!(ev.outcome, Outcome::Failure);
    assert_eq!(ev.user, "admin");
    assert_eq!(ev.source_ip, "10.1.2.3".parse().ok());
    assert_eq!(ev.kind, EventKind::Db);
    // 12:00 CET is 11:00 UTC
    assert_eq!(ev.timestamp_ms, Some(1_704_106_800_000));
}

#[test]
fn pg_hba_and_authorized() {
    let ev = parse(
        "2024-01-01 12:00:00.123 UTC [1234] [unknown]@[unknown] FATAL:  no pg_hba.conf entry for host \"192.0.2.7\", user \"bob\", database \"x\", SSL off",
    );
    assert_eq!((ev.action, ev.user.as_ref()), (Action::LoginFailure, "bob"));
    assert_eq!(ev.source_ip, "192.0.2.7".parse().ok());
    assert_eq!(ev.timestamp_ms, Some(1_704_110_400_123));
    let ev = parse(
        "2024-01-01 12:00:00.123 UTC [1234] bob@shop LOG:  connection authorized: user=bob database=shop",
    );
    assert_eq!(
        (ev.action, ev.outcome, ev.user.as_ref()),
        (Action::LoginSuccess, Outcome::Success, "bob")
    );
}

#[test]
fn rds_prefix_gives_client_and_user() {
    let ev = parse(
        "2024-01-01 12:00:00 UTC:10.0.0.1(5432):alice@db:[1234]:FATAL:  password authentication failed for user \"alice\"",
    );
    assert_eq!(ev.source_ip, "10.0.0.1".parse().ok());
    assert_eq!(ev.user, "alice");
    assert_eq!(ev.action, Action::LoginFailure);
    let ev = parse(
        "2021-05-27 17:00:00 UTC:10.1.91.65:user@my_db:[24743]:LOG: duration: 0.054 ms statement: SELECT 1;",
    );
    assert_eq!(ev.source_ip, "10.1.91.65".parse().ok());
    assert_eq!((ev.user.as_ref(), ev.action), ("user", Action::None));
    assert_eq!(ev.message, "duration: 0.054 ms statement: SELECT 1;");
}

#[test]
fn received_syntax_error_and_statement() {
    let ev = parse(
        "2025-08-13 01:46:10.567 PDT [12389] LOG:  connection received: host=192.168.1.100 port=51762",
    );
    assert_eq!(ev.source_ip, "192.168.1.100".parse().ok());
    assert_eq!(ev.action, Action::None);
    let ev = parse(
        "2025-04-12 00:14:12.837 CEST [1329108] ERROR:  syntax error at or near \"null\" at character 510",
    );
    assert_eq!(
        (ev.action, ev.outcome),
        (Action::QueryError, Outcome::Failure)
    );
    assert_eq!(
        ev.message,
        "syntax error at or near \"null\" at character 510"
    );
    let ev = parse("2025-04-12 00:14:12.837 CEST [1329108] STATEMENT:  select 1 from x where");
    assert_eq!(
        (ev.action, ev.message.as_ref()),
        (Action::None, "select 1 from x where")
    );
    let ev = parse("2025-04-12 00:14:12.837 CEST [1] ERROR:  relation \"x\" does not exist");
    assert_eq!(ev.action, Action::None);
}

#[test]
fn zones_and_offsets() {
    let utc = parse("2024-01-01 12:00:00 UTC [1] LOG:  x").timestamp_ms;
    assert_eq!(
        parse("2024-01-01 13:00:00 +01 [1] LOG:  x").timestamp_ms,
        utc
    );
    assert_eq!(
        parse("2024-01-01 07:00:00 EST [1] LOG:  x").timestamp_ms,
        utc
    );
    assert_eq!(
        parse("2024-01-01 17:30:00 +0530 [1] LOG:  x").timestamp_ms,
        utc
    );
    assert_eq!(
        parse("2024-01-01 12:00:00 XYZT [1] LOG:  x").timestamp_ms,
        utc
    );
    assert_eq!(
        parse("2024-01-01T13:00:00+01:00 app[postgres.1]: [GREEN] LOG:  x").timestamp_ms,
        utc
    );
}

#[test]
fn skips_and_rejects() {
    let p = PostgresLogParser::new(&ParserOptions::default());
    assert_eq!(
        p.parse("\t    id smallserial primary key,"),
        Ok(Parsed::Skip)
    );
    assert_eq!(p.parse(""), Ok(Parsed::Skip));
    assert!(p.parse("pg_ctl: could not start server").is_err());
    assert!(
        p.parse("2018-09-12 16:08:54.776 LOG listening on 127.0.0.1:6432")
            .is_err()
    );
    assert_eq!(
        p.parse(
            "2019-03-14T00:23:00+00:00 app[postgres.4849]: [GREEN] [19-3] \tProcess 4821 waits"
        ),
        Ok(Parsed::Skip)
    );
    assert!(
        p.parse(
            "2019-03-14T00:23:00+00:00 app[postgres.4849]: [GREEN] [19-1] \tProcess 4821 waits"
        )
        .is_err()
    );
    assert!(
        p.parse(
            "2020-08-06T14:25:02.835618Z 0 [Note] [MY-012487] [InnoDB] DDL log recovery : begin"
        )
        .is_err()
    );
    assert!(p.parse("2024-01-01 12:00:00 UTC [1] LOG").is_err());
}

#[test]
fn bare_client_address_and_severity_without_zone() {
    let ev = parse(
        "2024-01-01 12:00:00 UTC 192.0.2.9 [77] LOG:  connection authorized: user=a database=b",
    );
    assert_eq!(ev.source_ip, "192.0.2.9".parse().ok());
    let ev = parse("2024-01-01 12:00:00 UTC 192.0.2.9 [77] bob@db LOG:  x");
    assert_eq!(
        (ev.source_ip, ev.user.as_ref()),
        ("192.0.2.9".parse().ok(), "bob")
    );
    let ev = parse("2024-01-01 12:00:00 UTC:[2001:db8::1](5432):bob@db:[1]:LOG:  x");
    assert_eq!(
        (ev.source_ip, ev.user.as_ref()),
        ("2001:db8::1".parse().ok(), "bob")
    );
    let ev = parse("2024-01-01 12:00:00 UTC:2001:db8::1(5432):bob@db:[1]:LOG:  x");
    assert_eq!(
        (ev.source_ip, ev.user.as_ref()),
        ("2001:db8::1".parse().ok(), "bob")
    );
    let ev = parse("2024-01-01 12:00:00 LOG:  checkpoint starting: time");
    assert_eq!(ev.message, "checkpoint starting: time");
}

#[test]
fn pgbouncer_lines() {
    let ev = parse(
        "2018-09-12 16:09:05.313 3394 LOG C-0x562376c014e0: pgbench/gilles@127.0.0.1:43866 login attempt: db=pgbench user=gilles tls=no",
    );
    assert_eq!(
        (ev.program.as_ref(), ev.user.as_ref()),
        ("pgbouncer", "gilles")
    );
    assert_eq!(ev.source_ip, "127.0.0.1".parse().ok());
    assert_eq!(ev.action, Action::None);
    let ev = parse(
        "2024-01-01 12:00:00.000 UTC [12] WARNING C-0x1: app/eve@[2001:db8::5]:5000 pooler error: password authentication failed",
    );
    assert_eq!((ev.action, ev.user.as_ref()), (Action::LoginFailure, "eve"));
    assert_eq!(ev.source_ip, "2001:db8::5".parse().ok());
    let ev = parse(
        "2018-09-12 16:09:05.313 3394 LOG S-0x562376c063b0: pgbench/gilles@10.9.9.9:5432 new connection to server",
    );
    assert_eq!(ev.source_ip, None);
}

#[test]
fn role_does_not_exist_is_invalid_user() {
    let ev = parse("2024-01-01 12:00:00 UTC [1] FATAL:  role \"hacker\" does not exist");
    assert_eq!(
        (ev.action, ev.user.as_ref()),
        (Action::InvalidUser, "hacker")
    );
}

#[test]
fn application_name_cannot_fake_the_client() {
    let ev = parse(
        "2024-01-01 12:00:00 CET [1]: user=u,db=d,app=x client=6.6.6.6,client=10.0.0.3 FATAL:  password authentication failed for user \"u\"",
    );
    assert_eq!(ev.source_ip, "10.0.0.3".parse().ok());
}
