//! One module per subcommand.

pub mod analyze;
pub mod generate;
pub mod report;
pub mod rules;
pub mod serve;

use anyhow::Context;
use secmo_detect::RuleSet;
use std::path::Path;

/// A runtime failure (unreadable input, bad rules).
pub const EXIT_ERROR: u8 = 1;
/// Invalid configuration or usage (clap uses 2 for bad arguments too).
pub const EXIT_USAGE: u8 = 2;
/// `--fail-on` threshold reached.
pub const EXIT_THREATS: u8 = 3;

/// The built-in rules plus every `*.yml`/`*.yaml` file of each `--rules DIR`
/// (later files override earlier rules with the same id).
pub fn load_rules(dirs: &[std::path::PathBuf]) -> anyhow::Result<RuleSet> {
    let mut set = RuleSet::builtin().context("the built-in rules are invalid")?;
    for dir in dirs {
        add_rules_from(&mut set, dir)?;
    }
    Ok(set)
}

fn add_rules_from(set: &mut RuleSet, path: &Path) -> anyhow::Result<()> {
    let mut files = Vec::new();
    if path.is_dir() {
        for entry in std::fs::read_dir(path)
            .with_context(|| format!("cannot read rules directory {}", path.display()))?
        {
            let p = entry?.path();
            if matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")) {
                files.push(p);
            }
        }
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    for f in files {
        let text = std::fs::read_to_string(&f)
            .with_context(|| format!("cannot read rule file {}", f.display()))?;
        set.add_yaml(&f.display().to_string(), &text)?;
    }
    Ok(())
}
