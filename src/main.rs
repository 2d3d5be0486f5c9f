//! The `dateline` binary: parse the command line, run, map errors to exit codes.

use std::process::ExitCode;

/// jemalloc instead of the system allocator: the timeline stage allocates and frees many small
/// strings per record, and glibc's malloc took about a third of its CPU time (`perf record` of
/// the running service). mimalloc was as fast but kept more memory.
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
