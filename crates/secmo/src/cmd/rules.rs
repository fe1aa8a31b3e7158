//! `secmo rules`: list the rules in force, or check user rule files.

use super::load_rules;
use anyhow::Context;
use clap::Args;
use secmo_detect::engine::Detector;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct RulesArgs {
    /// Extra rule files or directories to load (and check) on top of the built-in rules.
    #[arg(long = "rules")]
    rules: Vec<PathBuf>,
    /// Print the rules as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: RulesArgs) -> anyhow::Result<ExitCode> {
    let set = load_rules(&args.rules)?;
    let detector = Detector::new(&set).context("invalid rules")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(detector.rules())?);
    } else {
        for r in detector.rules() {
            println!(
                "{:<24} {:<9} {:<18} {}",
                r.id,
                r.severity.as_str(),
                r.category.as_str(),
                r.title
            );
        }
        eprintln!("{} rules loaded", detector.rules().len());
    }
    Ok(ExitCode::SUCCESS)
}
