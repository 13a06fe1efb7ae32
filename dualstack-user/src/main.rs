//! The `dualstack` binary: parses the command line and hands over to the library.

use clap::Parser;
use dualstack::cli::{export, listeners, trace, Cli, Command};

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
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
