//! Placeholder; being written.

/// Arguments of `dateline run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {}

/// Arguments of `dateline demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {}

/// Runs the streaming service.
pub fn run(_args: RunArgs) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("not implemented yet")
}

/// Runs the embedded demo.
pub fn demo(_args: DemoArgs) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("not implemented yet")
}
