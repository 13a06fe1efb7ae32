//! `dualstack daemon`: trace every process once and serve the events to many clients (see
//! `daemon`); `--check-config` only checks the options.

use clap::Args;

use crate::daemon::{self, config::DaemonOptions};

#[derive(Debug, Args)]
pub struct DaemonArgs {
    #[command(flatten)]
    pub options: DaemonOptions,
    /// Check the options (paths, group, addresses, token file) without loading anything, print
    /// "configuration ok" and exit 0; else print the reason and exit 1.
    #[arg(long)]
    pub check_config: bool,
}

/// Runs `dualstack daemon`; returns the process exit code.
pub async fn run(args: DaemonArgs) -> anyhow::Result<i32> {
    let config = args.options.check()?;
    if args.check_config {
        for warning in &config.warnings {
            eprintln!("dualstack: warning: {warning}");
        }
        if let Some(problem) = &config.log_problem {
            eprintln!("dualstack: {problem}");
            return Ok(1);
        }
        println!("configuration ok");
        return Ok(0);
    }
    daemon::run(config).await?;
    Ok(0)
}
