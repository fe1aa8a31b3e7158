//! What sshd, sudo, su, login and PAM messages mean for security: the action,
//! its outcome, the user and the remote address. Usernames are attacker
//! chosen and may hold spaces or be empty, so they are cut out from the
//! right (`... from IP port N`), never by splitting on spaces.

use super::{key_value, parse_ip};
use secmo_event::{Action, Event, EventKind, Outcome};
use std::borrow::Cow;

pub(super) fn classify<'a>(program: &str, message: &'a str, ev: &mut Event<'a>) {
    // rsyslog folds repeats: `message repeated 3 times: [ Failed password ...]`.
    let message = unwrap_repeated(message);
    let is_pam = message.starts_with("pam_");
    let auth_program =
        matches!(program, "sshd" | "sudo" | "su" | "login") || program.starts_with("sshd-");
    if !(auth_program || is_pam || message.starts_with("PAM ")) {
        return;
    }
    ev.kind = EventKind::Auth;
    if is_pam {
        pam(message, ev);
        return;
    }
    match program {
        "sudo" => sudo(message, ev),
        "su" => su(message, ev),
        "login" => login(message, ev),
        _ if auth_program => sshd(message, ev),
        _ => pam_more_failures(message, ev),
    }
}

fn unwrap_repeated(message: &str) -> &str {
    let Some(rest) = message.strip_prefix("message repeated ") else {
        return message;
    };
    let Some((_, inner)) = rest.split_once(" times: [") else {
        return message;
    };
    let inner = inner.strip_suffix(']').unwrap_or(inner);
    inner.trim()
}

fn fail(ev: &mut Event<'_>, action: Action) {
    ev.action = action;
    ev.outcome = Outcome::Failure;
}

fn succeed(ev: &mut Event<'_>, action: Action) {
    ev.action = action;
    ev.outcome = Outcome::Success;
}

fn sshd<'a>(m: &'a str, ev: &mut Event<'a>) {
    if let Some(rest) = m.strip_prefix("Failed ") {
        // `Failed password|publickey|keyboard-interactive/pam|none for [invalid user ]U from IP port N ssh2`
        if let Some((_, who)) = rest.split_once(" for ") {
            user_from(who.strip_prefix("invalid user ").unwrap_or(who), ev);
            fail(ev, Action::LoginFailure);
        }
    } else if let Some(rest) = m.strip_prefix("Accepted ") {
        if let Some((_, who)) = rest.split_once(" for ") {
            user_from(who, ev);
            succeed(ev, Action::LoginSuccess);
        }
    } else if let Some(who) = m.strip_prefix("Invalid user ") {
        user_from(who, ev);
        fail(ev, Action::InvalidUser);
    } else if let Some(rest) =
        m.strip_prefix("error: maximum authentication attempts exceeded for ")
    {
        user_from(rest.strip_prefix("invalid user ").unwrap_or(rest), ev);
        fail(ev, Action::TooManyFailures);
    } else if let Some(rest) = m.strip_prefix("Disconnecting") {
        if rest.contains("Too many authentication failures") {
            // `Disconnecting: Too many authentication failures [for U] [preauth]` or
            // `Disconnecting authenticating|invalid user U IP port N: Too many ...`
            if let Some(who) = rest.strip_prefix(' ') {
                user_ip_port(who, ev);
            } else if let Some((_, who)) = rest.split_once(" failures for ") {
                let who = who.strip_suffix(" [preauth]").unwrap_or(who);
                ev.user = Cow::Borrowed(who.strip_prefix("invalid user ").unwrap_or(who));
            }
            fail(ev, Action::TooManyFailures);
        }
    } else if m.starts_with("PAM ") {
        pam_more_failures(m, ev);
    } else if let Some(rest) = m.strip_prefix("User ") {
        // `User U from IP not allowed because not listed in AllowUsers`
        if let Some(idx) = rest.rfind(" not allowed because ") {
            user_from(rest.get(..idx).unwrap_or(""), ev);
            fail(ev, Action::LoginFailure);
        }
    } else if let Some(who) = m.strip_prefix("input_userauth_request: invalid user ") {
        ev.user = Cow::Borrowed(who.strip_suffix(" [preauth]").unwrap_or(who));
    } else {
        for lead in [
            "Received disconnect from ",
            "Disconnected from ",
            "Connection closed by ",
            "Connection reset by ",
            "Connection from ",
            "Timeout before authentication for ",
        ] {
            if let Some(who) = m.strip_prefix(lead) {
                user_ip_port(who, ev);
                return;
            }
        }
        // `Did not receive identification string from IP`, `Bad protocol version
        // identification '...' from IP port N`, `Unable to negotiate with IP port N`.
        if let Some(idx) = m.rfind(" from ").or_else(|| m.find(" with ")) {
            let tail = m.get(idx + 6..).unwrap_or("");
            ev.source_ip = parse_ip(tail.split(' ').next().unwrap_or(""));
        }
    }
}

/// `USER from IP[ port N ...]`: the user is everything before the last ` from `.
fn user_from<'a>(s: &'a str, ev: &mut Event<'a>) {
    let (user, after) = match s.rfind(" from ") {
        Some(idx) => (s.get(..idx).unwrap_or(""), s.get(idx + 6..).unwrap_or("")),
        None if s.starts_with("from ") => ("", s.get(5..).unwrap_or("")),
        None => (s.split(" [preauth]").next().unwrap_or(s), ""),
    };
    ev.user = Cow::Borrowed(user);
    ev.source_ip = parse_ip(after.split(' ').next().unwrap_or(""));
}

/// `[authenticating |invalid ]user U IP port N...` or `IP port N...`.
fn user_ip_port<'a>(s: &'a str, ev: &mut Event<'a>) {
    let (has_user, s) = match ["authenticating user ", "invalid user ", "user "]
        .iter()
        .find_map(|p| s.strip_prefix(p))
    {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    // The user is attacker chosen and may hold ` port `; what follows the
    // real one is sshd's own text. Without a user, the address comes first and
    // what follows (a disconnect reason) is the client's.
    let port = if has_user {
        s.rfind(" port ")
    } else {
        s.find(" port ")
    };
    let head = match port {
        Some(idx) => s.get(..idx).unwrap_or(""),
        None => s.split([' ', ':']).next().unwrap_or(""),
    };
    if has_user {
        if let Some((user, ip)) = head.rsplit_once(' ') {
            ev.user = Cow::Borrowed(user);
            ev.source_ip = parse_ip(ip);
        }
    } else {
        ev.source_ip = parse_ip(head);
    }
}

/// `PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=IP  user=U`
fn pam_more_failures<'a>(m: &'a str, ev: &mut Event<'a>) {
    if m.starts_with("PAM ") && m.contains(" more authentication failure") {
        pam_fields(m, ev, false);
        fail(ev, Action::LoginFailure);
    }
}

/// `pam_unix(SERVICE:auth): authentication failure; ...` and friends. A
/// failure under su or sudo is a failed privilege change; elsewhere a failed login.
fn pam<'a>(m: &'a str, ev: &mut Event<'a>) {
    let Some((_, rest)) = m.split_once('(') else {
        return;
    };
    let service = rest.split([':', ')']).next().unwrap_or("");
    if rest.contains("authentication failure;") {
        let privilege = matches!(service, "su" | "su-l" | "sudo" | "sudo-i");
        pam_fields(m, ev, privilege);
        fail(
            ev,
            if privilege {
                Action::PrivilegeChange
            } else {
                Action::LoginFailure
            },
        );
    } else if let Some((_, who)) = rest.split_once(" for user ") {
        // `session opened for user U by (uid=0)` / `session opened for user U(uid=1000) by ...`
        let end = who.find([' ', '(']).unwrap_or(who.len());
        ev.user = Cow::Borrowed(who.get(..end).unwrap_or(""));
    }
}

/// Fill user and address from PAM's `ruser= rhost= user=` fields. `user=` is
/// the last field and may hold spaces. For a privilege change the user is
/// the one asking (`ruser`, else `logname`), not the target account.
fn pam_fields<'a>(m: &'a str, ev: &mut Event<'a>, privilege: bool) {
    // The first ` user=`: the value runs to the end and may itself hold ` user=`.
    let target = m.find(" user=").and_then(|i| m.get(i + 6..)).unwrap_or("");
    let invoking = key_value(m, "ruser")
        .filter(|u| !u.is_empty())
        .or_else(|| key_value(m, "logname").filter(|u| !u.is_empty()));
    ev.user = Cow::Borrowed(match invoking {
        Some(u) if privilege => u,
        _ => target,
    });
    ev.source_ip = key_value(m, "rhost").and_then(parse_ip);
}

/// `U : TTY=pts/0 ; PWD=/home/x ; USER=root ; COMMAND=/bin/ls` (allowed) or
/// `U : user NOT in sudoers ; TTY=...` / `U : 3 incorrect password attempts ; ...` (refused).
fn sudo<'a>(m: &'a str, ev: &mut Event<'a>) {
    let Some((user, rest)) = m.split_once(" : ") else {
        return;
    };
    ev.user = Cow::Borrowed(user.trim());
    if !(rest.contains("COMMAND=") || rest.contains("USER=")) {
        return;
    }
    let first = rest.split(" ; ").next().unwrap_or("");
    if first.contains('=') {
        succeed(ev, Action::PrivilegeChange);
    } else {
        fail(ev, Action::PrivilegeChange);
    }
}

/// `Successful su for root by U`, `FAILED su for root by U`, and util-linux's
/// `(to root) U on pts/0` / `FAILED SU (to root) U on pts/0`.
fn su<'a>(m: &'a str, ev: &mut Event<'a>) {
    let (ok, rest) = if let Some(r) = m.strip_prefix("Successful su for ") {
        (true, r)
    } else if let Some(r) = m.strip_prefix("FAILED su for ") {
        (false, r)
    } else if let Some(r) = m.strip_prefix("(to ") {
        (true, r)
    } else if let Some(r) = m.strip_prefix("FAILED SU (to ") {
        (false, r)
    } else {
        return;
    };
    let user = if let Some((_, by)) = rest.split_once(" by ") {
        by
    } else if let Some((_, who)) = rest.split_once(") ") {
        who.rsplit_once(" on ").map_or(who, |(u, _)| u)
    } else {
        return;
    };
    ev.user = Cow::Borrowed(user);
    if ok {
        succeed(ev, Action::PrivilegeChange);
    } else {
        fail(ev, Action::PrivilegeChange);
    }
}

/// `FAILED LOGIN (1) on '/dev/tty1' FOR 'U', Authentication failure` and `ROOT LOGIN  on '/dev/tty1'`.
fn login<'a>(m: &'a str, ev: &mut Event<'a>) {
    if m.starts_with("FAILED LOGIN") {
        if let Some((_, who)) = m.split_once(" FOR '") {
            ev.user = Cow::Borrowed(who.rsplit_once('\'').map_or(who, |(u, _)| u));
        }
        fail(ev, Action::LoginFailure);
    } else if m.starts_with("ROOT LOGIN ") {
        ev.user = Cow::Borrowed("root");
        succeed(ev, Action::LoginSuccess);
    }
}
