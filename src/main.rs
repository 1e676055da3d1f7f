//! The `stormcast` binary: parses arguments, runs the command, maps errors to exit
//! codes (0 success, 1 a gate failed, 2 bad input or usage).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
