//! The `sesame` binary: parses the command line and runs it.

use clap::Parser;

fn main() -> std::process::ExitCode {
    // Before anything else: it may execute the program again.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|verb| verb == "serve")
    {
        sesame::tuning::reexec_with_openssl_caps();
        sesame::tuning::bound_allocator();
    }
    run()
}

#[tokio::main]
async fn run() -> std::process::ExitCode {
    // The logger is installed by the command, once `serve` knows its
    // `log_format`.
    match sesame::cli::run(sesame::cli::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("sesame: {reason}");
            std::process::ExitCode::FAILURE
        }
    }
}
