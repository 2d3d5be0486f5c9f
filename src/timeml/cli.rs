//! Placeholder; being written.

/// Arguments of `dateline annotate`.
#[derive(Debug, clap::Args)]
pub struct AnnotateArgs {}

/// Arguments of `dateline eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {}

/// Runs `dateline annotate`.
pub fn annotate(_args: AnnotateArgs) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("not implemented yet")
}

/// Runs `dateline eval`.
pub fn eval(_args: EvalArgs) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("not implemented yet")
}
