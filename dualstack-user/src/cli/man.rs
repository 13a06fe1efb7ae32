//! `dualstack man DIR` (hidden, for packaging): writes the manual pages generated from this
//! command line, `dualstack.1` and one `dualstack-COMMAND.1` per command, into DIR.

use std::{fs, path::PathBuf};

use anyhow::Context as _;
use clap::{Args, CommandFactory as _};
use clap_mangen::Man;

use crate::cli::Cli;

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Directory to write the pages into (created when missing).
    pub dir: PathBuf,
}

/// Writes the pages and prints the path of each.
pub fn run(args: &ManArgs) -> anyhow::Result<i32> {
    fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    // `help` is no command of its own here: every page documents --help.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Built, the commands know their display names (dualstack-trace), which name their pages.
    cmd.build();
    let source = format!("dualstack {}", env!("CARGO_PKG_VERSION"));
    let pages = std::iter::once(cmd.clone())
        .chain(cmd.get_subcommands().filter(|c| !c.is_hide_set()).cloned());
    for page in pages {
        let path = Man::new(page)
            .source(source.clone())
            .manual("dualstack manual")
            .generate_to(&args.dir)
            .with_context(|| format!("cannot write a page into {}", args.dir.display()))?;
        println!("{}", path.display());
    }
    Ok(0)
}
