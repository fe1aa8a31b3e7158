//! The `secmo` command: thin glue from the command line to the library crates.

mod cmd;
mod progress;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "secmo",
    version,
    about = "Security log monitoring, threat detection and incident response"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse log files (or stdin) and report threats, alerts and traffic analytics.
    Analyze(cmd::analyze::AnalyzeArgs),
    /// Write realistic synthetic log traffic with labelled attacks.
    Generate(cmd::generate::GenerateArgs),
    /// Make a report (HTML, PDF, CSV, JSON, text) from the store of `secmo serve` or from log files; write it or e-mail it.
    Report(cmd::report::ReportArgs),
    /// List the loaded detection rules, or check a rules directory.
    Rules(cmd::rules::RulesArgs),
    /// Watch logs continuously: storage, incidents, blocking and the HTTP API.
    Serve(cmd::serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(args) => cmd::analyze::run(args),
        Command::Generate(args) => cmd::generate::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Rules(args) => cmd::rules::run(args),
        Command::Serve(args) => cmd::serve::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("secmo: error: {e:#}");
            ExitCode::from(cmd::EXIT_ERROR)
        }
    }
}
