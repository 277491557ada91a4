//! « Espace Citoyens », the city's citizen portal, as a relying party of
//! Sésame (OpenID Connect authorization code flow with PKCE, through the
//! `openidconnect` crate).
//!
//! ```sh
//! cargo run --release                              # Sésame on :8080
//! cargo run --release --example citizen_portal     # the portal on :8081
//! ```
//!
//! Settings come from flags or the environment (`PORTAL_*`); the defaults
//! fit a Sésame started with no configuration. The portal's code lives in
//! `portal/` so that `tests/portal.rs` can include it (see `portal/mod.rs`).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod portal;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// Espace Citoyens: the example citizen portal, a relying party of Sésame.
#[derive(Parser)]
#[command(
    version,
    about = "Espace Citoyens: the example citizen portal, a relying party of Sésame"
)]
struct Args {
    /// The OpenID provider (Sésame) issuer URL.
    #[arg(long, env = "PORTAL_ISSUER", default_value = "http://127.0.0.1:8080")]
    issuer: String,
    /// The portal's client id at the provider.
    #[arg(long, env = "PORTAL_CLIENT_ID", default_value = "portail-citoyen")]
    client_id: String,
    /// The portal's client secret (default: the demo client's).
    #[arg(long, env = "PORTAL_CLIENT_SECRET", default_value = portal::DEMO_SECRET, hide_default_value = true, hide_env_values = true)]
    client_secret: String,
    /// Address to listen on.
    #[arg(long, env = "PORTAL_LISTEN", default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// The portal's own public URL (default: http://<listen>).
    #[arg(long, env = "PORTAL_PUBLIC_URL")]
    public_url: Option<String>,
    /// Folder of the portal's SQLite database.
    #[arg(long, env = "PORTAL_DATA_DIR", default_value = "data-portal")]
    data_dir: PathBuf,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = portal::Config {
        public_url: args
            .public_url
            .unwrap_or_else(|| format!("http://{}", args.listen)),
        issuer: args.issuer,
        client_id: args.client_id,
        client_secret: args.client_secret,
        data_dir: args.data_dir,
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("citizen_portal: cannot listen on {}: {e}", args.listen);
            return std::process::ExitCode::FAILURE;
        }
    };
    match portal::serve(config, listener).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("citizen_portal: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
