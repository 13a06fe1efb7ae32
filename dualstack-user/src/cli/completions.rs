//! `dualstack completions SHELL`: the shell's completion script for every command and option,
//! generated from this command line, so that it never lags behind it.

use std::io::{self, Write as _};

use anyhow::Context as _;
use clap::{Args, CommandFactory as _};
use clap_complete::Shell;

use crate::cli::Cli;

/// The shells a script is written for (those the Debian package installs one for).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

impl From<CompletionShell> for Shell {
    fn from(shell: CompletionShell) -> Shell {
        match shell {
            CompletionShell::Bash => Shell::Bash,
            CompletionShell::Zsh => Shell::Zsh,
            CompletionShell::Fish => Shell::Fish,
        }
    }
}

#[derive(Debug, Args)]
#[command(after_help = "\
The Debian package installs all three. By hand, e.g.:
  dualstack completions bash > /usr/share/bash-completion/completions/dualstack
  dualstack completions zsh > /usr/local/share/zsh/site-functions/_dualstack
  dualstack completions fish > ~/.config/fish/completions/dualstack.fish
or, for the current bash only: source <(dualstack completions bash)")]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// The completion script for `shell`.
pub fn script(shell: CompletionShell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let name = cmd.get_name().to_owned();
    let mut out = Vec::new();
    clap_complete::generate(Shell::from(shell), &mut cmd, name, &mut out);
    out
}

pub fn run(args: &CompletionsArgs) -> anyhow::Result<i32> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(&script(args.shell))
        .and_then(|()| stdout.flush())
        .context("cannot write the completion script to stdout")?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use clap::{CommandFactory as _, ValueEnum as _};

    use super::{script, CompletionShell};
    use crate::cli::Cli;

    /// The commands a user can type, as the command line defines them.
    fn visible_commands() -> Vec<String> {
        Cli::command()
            .get_subcommands()
            .filter(|c| !c.is_hide_set())
            .map(|c| c.get_name().to_owned())
            .collect()
    }

    #[test]
    fn the_command_line_has_the_documented_commands() {
        let commands = visible_commands();
        for name in [
            "trace",
            "listeners",
            "export",
            "daemon",
            "stream",
            "completions",
        ] {
            assert!(
                commands.iter().any(|c| c == name),
                "no `{name}` in {commands:?}"
            );
        }
        assert!(
            !commands.iter().any(|c| c == "man"),
            "`man` is for packaging and stays hidden: {commands:?}"
        );
    }

    #[test]
    fn bash_completion_offers_every_command() {
        let script = String::from_utf8(script(CompletionShell::Bash)).expect("UTF-8 script");
        // What bash offers for `dualstack <TAB>`: the function is called with the command,
        // the word being completed and the one before it.
        let complete =
            "COMP_WORDS=(dualstack ''); COMP_CWORD=1; _dualstack dualstack '' dualstack \
                        && printf '%s\\n' \"${COMPREPLY[@]}\"";
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!("{script}\n{complete}"))
            .output()
            .expect("cannot run bash");
        assert!(out.status.success(), "bash: {out:?}");
        let offered = String::from_utf8_lossy(&out.stdout);
        let offered: Vec<&str> = offered.lines().collect();
        for name in visible_commands() {
            assert!(
                offered.contains(&name.as_str()),
                "`dualstack <TAB>` does not offer `{name}`: {offered:?}"
            );
        }
    }

    #[test]
    fn every_script_names_every_command() {
        for &shell in CompletionShell::value_variants() {
            let text = String::from_utf8(script(shell)).expect("UTF-8 script");
            assert!(!text.is_empty(), "{shell:?}: empty script");
            for name in visible_commands() {
                assert!(
                    text.split(|c: char| !c.is_ascii_alphanumeric() && c != '-')
                        .any(|word| word == name),
                    "{shell:?} completion never names `{name}`"
                );
            }
        }
    }
}
