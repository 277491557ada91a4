//! The `sesame` binary: parses the command line and runs it.

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    // Before anything else: it may execute the program again.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|verb| verb == "serve")
    {
        sesame::tuning::reexec_with_openssl_caps();
    }
    run()
}

#[tokio::main]
async fn run() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match sesame::cli::run(sesame::cli::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("sesame: {reason}");
            std::process::ExitCode::FAILURE
        }
    }
}
