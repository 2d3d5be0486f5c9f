//! The `dateline` binary: parse the command line, run, map errors to exit codes.

use std::process::ExitCode;

/// jemalloc instead of the system allocator: the timeline stage allocates and frees many small
/// strings per record, and glibc's malloc took about a third of its CPU time (`perf record` of
/// the running service). mimalloc was as fast but kept more memory.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options (overridden by the `_RJEM_MALLOC_CONF` variable): a background thread
/// returns freed pages to the system within about a second, instead of when the arena that
/// freed them next allocates. Peak RSS of a 20,000-article drain of the default configuration:
/// 285-293 MB without, 269-272 MB with this and the glibc settings in [`main`].
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static MALLOC_CONF: &[u8] = b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

fn main() -> ExitCode {
    // librdkafka allocates with glibc's malloc, fetch and produce buffers of up to megabytes.
    // glibc raises its mmap threshold after each such buffer is freed, up to 32 MiB, so later
    // ones come from the heap and fragment it; a fixed threshold (which also turns that dynamic
    // adjustment off) keeps them in their own mappings, returned to the system when freed. Two
    // arenas instead of eight per core: librdkafka's few threads do not contend on them. Set
    // before any thread starts.
    // SAFETY: mallopt only changes allocator parameters, and no other thread runs yet.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
    match dateline::cli::run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("dateline: {error:#}");
            ExitCode::FAILURE
        }
    }
}
