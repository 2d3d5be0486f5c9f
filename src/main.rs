//! The `dateline` binary: parse the command line, run, map errors to exit codes.

use std::process::ExitCode;

/// jemalloc instead of the system allocator: the timeline stage allocates and frees many small
/// strings per record, and glibc's malloc took about a third of its CPU time (perf). Measured on
/// 20,000 bench articles through both stages: 5.2 -> 3.3 CPU seconds per 1,000 articles, peak RSS
/// about the same (mimalloc: 3.4 s, but 35% more RSS).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    match dateline::cli::run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("dateline: {error:#}");
            ExitCode::FAILURE
        }
    }
}
