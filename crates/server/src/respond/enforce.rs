//! Enforcers carry blocks out. Each is told about every block and unblock,
//! and may also be handed the whole active list to rewrite its state.

use crate::config::HookConfig;
use secmo_store::Block;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub trait Enforcer: Send + Sync {
    fn name(&self) -> &str;
    fn block(&self, _block: &Block) -> Result<(), String> {
        Ok(())
    }
    fn unblock(&self, _block: &Block) -> Result<(), String> {
        Ok(())
    }
    /// The complete list of active blocks after any change.
    fn sync(&self, _active: &[Block]) -> Result<(), String> {
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
pub enum ListStyle {
    /// `deny 203.0.113.7;` lines, for an nginx `include`.
    NginxDeny,
    /// One network per line.
    Plain,
}

/// Keeps a file listing the active blocks (written to a temporary file and
/// renamed, so readers never see half a list).
pub struct ListFile {
    path: PathBuf,
    style: ListStyle,
}

impl ListFile {
    pub fn new(path: PathBuf, style: ListStyle) -> ListFile {
        ListFile { path, style }
    }
}

pub fn render_list(active: &[Block], style: ListStyle) -> String {
    let mut out = String::new();
    if let ListStyle::NginxDeny = style {
        out.push_str("# written by secmo: active blocks\n");
    }
    let mut nets: Vec<String> = active.iter().map(|b| b.net.to_string()).collect();
    nets.sort();
    nets.dedup();
    for n in nets {
        match style {
            ListStyle::NginxDeny => {
                out.push_str("deny ");
                out.push_str(&n);
                out.push_str(";\n");
            }
            ListStyle::Plain => {
                out.push_str(&n);
                out.push('\n');
            }
        }
    }
    out
}

impl Enforcer for ListFile {
    fn name(&self) -> &str {
        "list-file"
    }

    fn sync(&self, active: &[Block]) -> Result<(), String> {
        let text = render_list(active, self.style);
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        tmp.write_all(text.as_bytes())
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        tmp.persist(&self.path)
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        Ok(())
    }
}

/// Runs a configured program on block and unblock. The program and its
/// arguments are an argument vector: `{net}`, `{reason}` and `{expires}` are
/// substituted inside arguments, never interpreted by a shell.
pub struct CommandHook {
    block: Vec<String>,
    unblock: Vec<String>,
    timeout: Duration,
}

impl CommandHook {
    pub fn new(cfg: &HookConfig) -> CommandHook {
        CommandHook {
            block: cfg.block.clone(),
            unblock: cfg.unblock.clone(),
            timeout: Duration::from_secs(cfg.timeout_secs.max(1)),
        }
    }

    fn run(&self, argv: &[String], b: &Block) -> Result<(), String> {
        let Some((program, args)) = argv.split_first() else {
            return Ok(());
        };
        let expires = b
            .expires_ms
            .map(secmo_event::format_rfc3339)
            .unwrap_or_else(|| "never".into());
        let net = b.net.to_string();
        let subst = |a: &String| {
            a.replace("{net}", &net)
                .replace("{reason}", &b.reason)
                .replace("{expires}", &expires)
        };
        let mut child = Command::new(program)
            .args(args.iter().map(subst))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        let started = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => {
                    let mut err = String::new();
                    if let Some(mut s) = child.stderr.take() {
                        use std::io::Read;
                        let _ = (&mut s).take(2000).read_to_string(&mut err);
                    }
                    return Err(format!("{program} exited with {status}: {}", err.trim()));
                }
                Ok(None) if started.elapsed() > self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "{program} took longer than {:?}; killed",
                        self.timeout
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(format!("waiting for {program}: {e}")),
            }
        }
    }
}

impl Enforcer for CommandHook {
    fn name(&self) -> &str {
        "command-hook"
    }
    fn block(&self, b: &Block) -> Result<(), String> {
        self.run(&self.block, b)
    }
    fn unblock(&self, b: &Block) -> Result<(), String> {
        self.run(&self.unblock, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(net: &str, reason: &str) -> Block {
        Block {
            id: 1,
            net: net.parse().expect("net"),
            reason: reason.into(),
            created_by: "t".into(),
            created_ms: 0,
            expires_ms: None,
            rule_id: None,
            incident_id: None,
            lifted_ms: None,
            lifted_by: None,
        }
    }

    #[test]
    fn lists_render_sorted_and_unique() {
        let active = [
            block("203.0.113.7/32", "a"),
            block("10.0.0.0/8", "b"),
            block("203.0.113.7/32", "c"),
        ];
        assert_eq!(
            render_list(&active, ListStyle::Plain),
            "10.0.0.0/8\n203.0.113.7/32\n"
        );
        assert!(render_list(&active, ListStyle::NginxDeny).contains("deny 10.0.0.0/8;\n"));
    }

    #[test]
    fn hook_gets_arguments_without_a_shell() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let hook = CommandHook::new(&HookConfig {
            block: vec![
                "/bin/sh".into(),
                "-c".into(),
                "printf '%s|%s' \"$1\" \"$2\" > \"$0\"".into(),
                out.display().to_string(),
                "{net}".into(),
                "{reason}".into(),
            ],
            unblock: vec!["/bin/false".into()],
            timeout_secs: 5,
        });
        // A reason full of shell syntax arrives as one literal argument.
        let evil = "x; touch /tmp/secmo-pwned $(id) `id`";
        hook.block(&block("198.51.100.9/32", evil))
            .expect("hook runs");
        let got = std::fs::read_to_string(&out).expect("hook wrote");
        assert_eq!(got, format!("198.51.100.9/32|{evil}"));
        assert!(!std::path::Path::new("/tmp/secmo-pwned").exists());
        let err = hook.unblock(&block("198.51.100.9/32", "r")).unwrap_err();
        assert!(err.contains("exited"), "{err}");
    }
}
