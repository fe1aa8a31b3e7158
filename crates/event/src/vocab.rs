//! The shared vocabulary: severities, attack categories, event kinds and actions.
//! The string forms are the ones every output (JSON, CSV, rules) uses.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $var),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }
            /// Parse the string form (case-insensitive).
            pub fn parse(s: &str) -> Option<Self> {
                $(if s.eq_ignore_ascii_case($s) { return Some($name::$var); })+
                None
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

string_enum! {
    /// How bad an alert is. Ordered: `Info < Low < Medium < High < Critical`.
    Severity {
        Info => "info",
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
}

string_enum! {
    /// Attack categories, used in every output.
    Category {
        Sqli => "sqli",
        Xss => "xss",
        PathTraversal => "path_traversal",
        CommandInjection => "command_injection",
        Scanner => "scanner",
        SensitiveFile => "sensitive_file",
        Log4shell => "log4shell",
        BruteForce => "brute_force",
        Flood => "flood",
        Scraping => "scraping",
        ErrorBurst => "error_burst",
        Exfiltration => "exfiltration",
        SessionAbuse => "session_abuse",
        BotPattern => "bot_pattern",
        TrafficSpike => "traffic_spike",
    }
}

string_enum! {
    /// What sort of log an event came from (`event.kind` in rules).
    #[derive(Default)]
    EventKind {
        /// Web server access log line.
        Http => "http",
        /// Authentication (sshd, sudo, su, login).
        Auth => "auth",
        /// Application JSON log.
        App => "app",
        /// Database server log.
        Db => "db",
        /// Other system log line.
        #[default]
        System => "system",
    }
}

string_enum! {
    /// What the event reports (`event.action`). Application log actions keep
    /// their upper-case names in the application format; here they are snake case.
    #[derive(Default)]
    Action {
        #[default]
        None => "none",
        LoginSuccess => "login_success",
        LoginFailure => "login_failure",
        Logout => "logout",
        PageVisit => "page_visit",
        ApiRequest => "api_request",
        /// A login attempt for a user that does not exist (sshd "Invalid user").
        InvalidUser => "invalid_user",
        /// sshd gave up after too many authentication failures.
        TooManyFailures => "too_many_failures",
        /// sudo / su privilege change.
        PrivilegeChange => "privilege_change",
        /// A database or application reported a query syntax error.
        QueryError => "query_error",
        /// An HTTP request (access logs).
        Request => "request",
    }
}

string_enum! {
    /// `event.outcome`.
    #[derive(Default)]
    Outcome {
        #[default]
        Unknown => "unknown",
        Success => "success",
        Failure => "failure",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_and_round_trips() {
        assert!(Severity::Info < Severity::Low && Severity::High < Severity::Critical);
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Some(*s));
        }
        assert_eq!(Severity::parse("HIGH"), Some(Severity::High));
        assert_eq!(Severity::parse("severe"), None);
    }

    #[test]
    fn category_strings_match_the_documented_vocabulary() {
        let all: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(all.len(), 15);
        assert!(all.contains(&"path_traversal") && all.contains(&"traffic_spike"));
        assert_eq!(
            serde_json::to_string(&Category::CommandInjection)
                .ok()
                .as_deref(),
            Some("\"command_injection\"")
        );
    }
}
