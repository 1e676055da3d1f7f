//! `stormcast init FILE [--template NAME]`: a commented starter scenario to edit, which
//! `check` accepts as written (a test checks each template).

use super::{Failure, emit};
use std::path::PathBuf;

/// `stormcast init`'s arguments.
#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// Where to write the scenario (`-` prints it). An existing file is kept unless
    /// --force.
    pub file: PathBuf,
    /// The starting point.
    #[arg(long, value_enum, default_value_t = Template::WebApp)]
    pub template: Template,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

/// The starter scenarios.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Template {
    /// A three-tier web app: web, app and database, with a retry budget and a breaker,
    /// and a slow database for ten seconds.
    WebApp,
    /// A queue worker: jobs arrive in bursts, wait in a deep queue and write to a store
    /// that stalls for a while.
    QueueWorker,
    /// A fan-out API: a gateway calls four backends in parallel, one optional, and one
    /// backend loses an instance.
    FanOut,
}

impl Template {
    /// The template's text.
    pub fn text(self) -> &'static str {
        match self {
            Template::WebApp => include_str!("templates/web-app.toml"),
            Template::QueueWorker => include_str!("templates/queue-worker.toml"),
            Template::FanOut => include_str!("templates/fan-out.toml"),
        }
    }
}

pub fn init(args: &InitArgs) -> Result<(), Failure> {
    let text = args.template.text();
    if super::input::is_stdin(&args.file) {
        emit(text);
        return Ok(());
    }
    let path = args.file.display();
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if args.force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let write = options.open(&args.file).and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
    match write {
        Ok(()) => {
            emit(&format!("wrote {path}; next: stormcast check {path} && stormcast run {path}\n"));
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Failure::input(format!(
            "error: {path} exists; nothing written\n  = help: pass --force to replace it, or another FILE"
        ))),
        Err(e) => Err(Failure::input(format!("error: cannot write {path}: {e}"))),
    }
}
