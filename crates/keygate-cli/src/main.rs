//! `keygate`: the operator's command line for a keygate deployment. See the crate's README.

#![forbid(unsafe_code)]

mod cli;
mod keys;
mod output;
mod pepper;
mod scan;
mod store;

use std::process::ExitCode;

use clap::error::ErrorKind;

use crate::cli::{Cli, Command};
use crate::output::Failure;

fn main() -> ExitCode {
    let cli = match <Cli as clap::Parser>::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            // A closed stdout (`keygate --help | head -1`) is not an error.
            let _ = output::print(&e.render().to_string());
            return ExitCode::SUCCESS;
        }
        Err(e) => return fail(&one_line(&e.render().to_string())),
    };
    match run(cli) {
        Ok(code) => code,
        // The reader went away (`keygate list | head -1`): nothing to say, nothing failed.
        Err(Failure::Pipe) => ExitCode::SUCCESS,
        Err(Failure::Message(m)) => fail(&m),
    }
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let global = cli.global;
    match cli.command {
        Command::Inspect(args) => keys::inspect(&global, &args),
        Command::Scan(args) => scan::run(&global, &args),
        command => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Failure::Message(format!("cannot start the runtime: {e}")))?;
            runtime.block_on(keys::run(&global, command)).map(|()| ExitCode::SUCCESS)
        }
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("keygate: {}", output::sanitize(message));
    ExitCode::from(2)
}

/// clap's error without its `error:` label, usage block and `--help` hint, on one line.
fn one_line(rendered: &str) -> String {
    let text = rendered
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more"))
        .collect::<Vec<_>>()
        .join(" ");
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    format!("{text} (keygate --help lists the commands)")
}
