//! `newsletter` binary: parse the command line, run, print the error chain once, exit.

use clap::Parser;
use newsletter::cli::Cli;
use newsletter::exit::exit_for;

fn main() {
    // Rust ignores SIGPIPE, which turns a closed pipe (`| head`) into a
    // panic in the next print; a command-line tool should just stop.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of one signal, before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
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
