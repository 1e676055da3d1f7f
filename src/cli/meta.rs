//! What the command line says about itself: shell completions and manual pages, both
//! generated from the clap definitions, so they cannot drift from the options.

use super::{Cli, Failure};
use clap::CommandFactory;

/// The completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut bytes = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "stormcast", &mut bytes);
    bytes
}

/// The manual page in roff: `stormcast(1)`, or `stormcast-COMMAND(1)` for one command
/// with its options.
pub fn man_page(command: Option<&str>) -> Result<Vec<u8>, Failure> {
    let top = Cli::command();
    let cmd = match command {
        None => top,
        Some(name) => {
            let sub = top.find_subcommand(name).ok_or_else(|| {
                let names: Vec<&str> = top.get_subcommands().map(|s| s.get_name()).collect();
                Failure::input(format!("error: no command `{name}`; commands: {}", names.join(", ")))
            })?;
            let full = format!("stormcast-{name}");
            sub.clone().name(full.clone()).bin_name(full).version(top.get_version().unwrap_or_default().to_string())
        }
    };
    let mut bytes = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut bytes).map_err(|e| Failure::input(format!("error: man page: {e}")))?;
    Ok(bytes)
}
