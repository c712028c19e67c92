//! `newsletter` binary: parse the command line, run, print the error chain once, exit.

use clap::Parser;
use newsletter::cli::Cli;
use newsletter::exit::exit_for;

fn main() {
    let cli = Cli::parse();
    let code = match newsletter::commands::run(cli) {
        Ok(exit) => exit,
        Err(err) => {
            let exit = exit_for(&err);
            newsletter::output::print_error(&err);
            exit
        }
    };
    std::process::exit(code.code());
}

