//! The `dateline` binary: parse the command line, run, map errors to exit codes.

use std::process::ExitCode;

fn main() -> ExitCode {
    match dateline::cli::run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("dateline: {error:#}");
            ExitCode::FAILURE
        }
    }
}
