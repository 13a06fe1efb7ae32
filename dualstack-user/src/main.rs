//! The `dualstack` binary: parses the command line (src/cli, one module per command) and hands
//! over to the library.

mod cli;

use clap::Parser;
use cli::{audit, completions, daemon, export, listeners, man, stream, trace, Cli, Command};

fn main() {
    let cli = Cli::parse();
    // A daemon says who connects (info); the interactive commands only warn.
    let level = if matches!(cli.command, Command::Daemon(_)) {
        "info"
    } else {
        "warn"
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level)).init();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("dualstack: cannot start the async runtime: {err}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Trace(args) => trace::run(args).await,
            Command::Listeners(args) => listeners::run(&args),
            Command::Export(args) => export::run(&args),
            Command::Daemon(args) => daemon::run(args).await,
            Command::Stream(args) => stream::run(args).await,
            Command::Audit(args) => audit::run(args).await,
            Command::Completions(args) => completions::run(&args),
            Command::Man(args) => man::run(&args),
        }
    });
    match result {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            eprintln!("dualstack: {err:#}");
            std::process::exit(1);
        }
    }
}
