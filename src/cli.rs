//! The command line of DESIGN §4 and §4b: `serve`, `init`, `user
//! add|import|list|show|disable|enable|delete`, `clients new-secret|check`,
//! `keys rotate`, `audit`, `backup`. Each names the instance it
//! acts on (standard error), prints a short result and fails with a
//! one-line reason.

mod audit;
mod backup;
mod clients_check;
mod instance;
mod user_add;
mod user_admin;
mod user_import;

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config;
use crate::{app, http, keys, secrets, store};
use instance::Instance;

#[derive(Parser)]
#[command(
    name = "sesame",
    version,
    about = "Sésame — OpenID Connect provider for a city's online services",
    long_about = "Sésame — OpenID Connect provider for a city's online services.\n\n\
        Every command acts on one instance: the sesame.toml named by --config, else by \
        the SESAME_CONFIG environment variable, else the built-in defaults in the current \
        folder (./data, ./keys, the demo client). It names that instance on standard error. \
        Without a command, `sesame` is `sesame serve`."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the provider (built-in defaults without --config or SESAME_CONFIG).
    Serve(ServeArgs),
    /// Writes DIR/sesame.toml, DIR/clients.toml (demo client), the keys and the data folder.
    Init {
        /// The instance's folder (created if missing; an existing sesame.toml is kept).
        dir: PathBuf,
        /// Public URL of the provider, as relying parties see it [default: http://127.0.0.1:8080].
        #[arg(long)]
        issuer: Option<String>,
    },
    /// Manages citizens.
    #[command(subcommand)]
    User(Box<UserCommand>),
    /// Manages relying parties.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Manages signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Prints the security events (sign-ins, password and consent changes, admin commands).
    Audit {
        #[command(flatten)]
        config: ConfigArg,
        /// Only the events of this citizen.
        #[arg(long)]
        email: Option<String>,
        /// Only the events about this relying party.
        #[arg(long, value_name = "ID")]
        client: Option<String>,
        /// Only events since this long ago (90s, 30m, 1h, 2d, 1w) or since an RFC 3339 time.
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// One JSON object a line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Writes a consistent copy of the database to OUT, also while the server runs.
    Backup {
        #[command(flatten)]
        config: ConfigArg,
        /// The copy to write (must not exist yet).
        out: PathBuf,
    },
}

/// The instance's `sesame.toml`: `--config`, else `SESAME_CONFIG`.
#[derive(Args, Default)]
struct ConfigArg {
    /// The instance's sesame.toml [env: SESAME_CONFIG; default: built-in defaults].
    #[arg(long, env = "SESAME_CONFIG", hide_env = true, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Args, Default)]
struct ServeArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Address and port to listen on, overriding `listen` (e.g. 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Public URL of the provider, overriding `issuer`.
    #[arg(long, value_name = "URL")]
    issuer: Option<String>,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Creates a citizen; the password is read from standard input and must
    /// pass the password policy.
    Add(Box<UserAdd>),
    /// Imports citizens from a JSON-lines file (one citizen a line, with their old hash).
    Import {
        #[command(flatten)]
        config: ConfigArg,
        /// Only check the file and say what would be imported.
        #[arg(long)]
        dry_run: bool,
        /// The JSON-lines file (docs/operations.md gives the format).
        file: PathBuf,
    },
    /// Lists the citizens (or the one of --email).
    List(UserTarget),
    /// Prints a citizen's account (never the password hash).
    Show(UserTarget),
    /// Disables an account: no sign-in, sessions ended, tokens revoked.
    Disable(UserTarget),
    /// Lets a disabled account sign in again.
    Enable(UserTarget),
    /// Deletes an account and its personal data; its sub is never given again.
    Delete(UserTarget),
    /// Removes a citizen's second factor (key and recovery codes), after the
    /// city checked their identity: the next sign-in needs the password only.
    #[command(name = "reset-2fa")]
    Reset2fa(UserTarget),
}

/// The citizen a `user` command acts on.
#[derive(Args)]
struct UserTarget {
    #[command(flatten)]
    config: ConfigArg,
    /// The citizen's email address.
    #[arg(long)]
    email: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Gender {
    Female,
    Male,
}

#[derive(Args)]
struct UserAdd {
    #[command(flatten)]
    config: ConfigArg,
    /// The citizen's email address (their sign-in name).
    #[arg(long)]
    email: String,
    /// Read the password from the first line of standard input (required: never on the command line).
    #[arg(long, required = true)]
    password_stdin: bool,
    /// Skip the password policy of [policy] (tests and demonstrations only).
    #[arg(long)]
    allow_weak_password: bool,
    /// Mark the email address as already verified.
    #[arg(long)]
    verified: bool,
    /// Prénoms (claim given_name).
    #[arg(long)]
    given_name: Option<String>,
    /// Nom de naissance (claim family_name).
    #[arg(long)]
    family_name: Option<String>,
    /// Nom d'usage (claim preferred_username).
    #[arg(long)]
    preferred_username: Option<String>,
    /// Civilité (claim gender).
    #[arg(long, value_enum)]
    gender: Option<Gender>,
    /// Date of birth, YYYY-MM-DD (claim birthdate).
    #[arg(long)]
    birthdate: Option<String>,
    /// Phone number (claim phone_number).
    #[arg(long)]
    phone: Option<String>,
    /// Street address (claim address.street_address).
    #[arg(long)]
    street: Option<String>,
    /// Postal code (claim address.postal_code).
    #[arg(long)]
    postal_code: Option<String>,
    /// Town (claim address.locality).
    #[arg(long)]
    locality: Option<String>,
    /// Country (claim address.country).
    #[arg(long)]
    country: Option<String>,
    /// A role (claim roles); repeat for several.
    #[arg(long = "role", value_name = "ROLE")]
    roles: Vec<String>,
}

#[derive(Subcommand)]
enum ClientsCommand {
    /// Prints a new client secret and the sha256: digest for clients.toml.
    NewSecret,
    /// Validates a clients file as a reload would take it, and prints the clients.
    Check {
        /// A candidate clients file to check before deploying it [default: the instance's clients_file].
        file: Option<PathBuf>,
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Makes new signing keys: published at the next reload, signing once
    /// the JWKS's cache lifetime has passed; the previous ones stay published.
    Rotate {
        #[command(flatten)]
        config: ConfigArg,
    },
}

/// Runs the command line; `Err` is the one-line reason to print.
pub async fn run(cli: Cli) -> Result<(), String> {
    // `sesame` alone is `sesame serve`; clap reads SESAME_CONFIG only for
    // a parsed subcommand, so it is read here for that case.
    let command = cli.command.unwrap_or_else(|| {
        Command::Serve(ServeArgs {
            config: ConfigArg {
                config: std::env::var_os("SESAME_CONFIG")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from),
            },
            ..ServeArgs::default()
        })
    });
    if !matches!(command, Command::Serve(_)) {
        crate::logging::init(config::LogFormat::Text);
    }
    match command {
        Command::Serve(args) => serve(args).await,
        // One-off commands are synchronous: they run on a thread of their
        // own, outside the async runtime, where a database client may block
        // (PostgreSQL's refuses to inside it).
        other => std::thread::scope(|s| s.spawn(|| one_off(other)).join())
            .unwrap_or_else(|_| Err("the command stopped unexpectedly".into())),
    }
}

/// Runs a command other than `serve`.
fn one_off(command: Command) -> Result<(), String> {
    match command {
        Command::Serve(_) => Err("serve is not a one-off command".into()),
        Command::Init { dir, issuer } => init(&dir, issuer.as_deref()),
        Command::User(command) => match *command {
            UserCommand::Add(args) => user_add::run(*args),
            UserCommand::Import {
                config,
                dry_run,
                file,
            } => user_import::run(config.config.as_deref(), &file, dry_run),
            UserCommand::List(t) => user_admin_run(user_admin::Verb::List, t),
            UserCommand::Show(t) => user_admin_run(user_admin::Verb::Show, t),
            UserCommand::Disable(t) => user_admin_run(user_admin::Verb::Disable, t),
            UserCommand::Enable(t) => user_admin_run(user_admin::Verb::Enable, t),
            UserCommand::Delete(t) => user_admin_run(user_admin::Verb::Delete, t),
            UserCommand::Reset2fa(t) => user_admin_run(user_admin::Verb::Reset2fa, t),
        },
        Command::Audit {
            config,
            email,
            client,
            since,
            json,
        } => {
            let query = audit::Query {
                email: email.as_deref(),
                client: client.as_deref(),
                since: since.as_deref(),
                json,
            };
            audit::run(config.config.as_deref(), &query)
        }
        Command::Backup { config, out } => backup::run(config.config.as_deref(), &out),
        Command::Clients(ClientsCommand::NewSecret) => {
            let secret = secrets::token();
            println!("secret: {secret}");
            println!(
                "clients.toml: secret = \"{}\"",
                secrets::sha256_prefixed(&secret)
            );
            Ok(())
        }
        Command::Clients(ClientsCommand::Check { file, config }) => {
            clients_check::run(file.as_deref(), config.config.as_deref())
        }
        Command::Keys(KeysCommand::Rotate { config }) => {
            let instance = Instance::open(config.config.as_deref())?;
            instance.require_existing()?;
            let config = instance.config;
            let kids = keys::rotate(&config.keys_dir, app::now()).map_err(|e| e.to_string())?;
            println!(
                "new keys in {}: {}",
                config.keys_dir.display(),
                kids.join(", ")
            );
            println!(
                "every `sesame serve` on this key folder publishes them within 30 s (at once on \
                 SIGHUP); they sign {} s later, once every cached JWKS knows them; the previous \
                 keys stay published",
                config.tokens.jwks_max_age
            );
            Ok(())
        }
    }
}

fn user_admin_run(verb: user_admin::Verb, target: UserTarget) -> Result<(), String> {
    let mail_paths = user_admin::MailPaths {
        forgot: http::paths::FORGOT,
        account: http::paths::ACCOUNT,
    };
    user_admin::run(
        verb,
        target.config.config.as_deref(),
        target.email.as_deref(),
        &mail_paths,
    )
}

/// A Unix time as `2026-11-30T14:04:22Z` (UTC), for the operator.
fn time_text(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| at.to_string())
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let file = args.config.config.as_deref();
    let instance = Instance::load(file)?;
    crate::logging::init(instance.config.log_format);
    match instance.config.log_format {
        config::LogFormat::Text => eprintln!("sesame: {}", instance.describe()),
        config::LogFormat::Json => tracing::info!("{}", instance.describe()),
    }
    let mut config = instance.config;
    if let Some(listen) = &args.listen {
        config.set_listen(listen).map_err(|e| e.to_string())?;
    }
    if let Some(issuer) = &args.issuer {
        config.set_issuer(issuer).map_err(|e| e.to_string())?;
    }
    if file.is_none() {
        tracing::info!(
            "no --config: running on built-in defaults with the demo client portail-citoyen"
        );
    }
    let (router, state) = http::start::build(config.clone()).map_err(|e| e.to_string())?;
    let listener = http::start::bind(&config)
        .await
        .map_err(|e| e.to_string())?;
    http::start::run_until(listener, router, state, http::server::stop_signal())
        .await
        .map_err(|e| e.to_string())
}

fn init(dir: &Path, issuer: Option<&str>) -> Result<(), String> {
    let issuer = issuer.unwrap_or(config::DEFAULT_ISSUER);
    let listen = loopback_listen(issuer).unwrap_or_else(|| config::DEFAULT_LISTEN.to_owned());
    let config_path = dir.join("sesame.toml");
    if config_path.exists() {
        return Err(format!(
            "{} already exists; not overwriting it",
            config_path.display()
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::write(&config_path, config::init_file(issuer, &listen))
        .map_err(|e| format!("{}: {e}", config_path.display()))?;
    let secret = secrets::token();
    let clients_path = dir.join("clients.toml");
    if !clients_path.exists() {
        std::fs::write(
            &clients_path,
            config::clients::demo_toml(&secrets::sha256_prefixed(&secret)),
        )
        .map_err(|e| format!("{}: {e}", clients_path.display()))?;
    }
    let config = Instance::open(Some(&config_path))?.config;
    keys::KeyRing::load_or_create(&config.keys_dir, app::now()).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    store::open_for_cli(&config.database).map_err(|e| e.to_string())?;
    println!(
        "wrote {} and {}",
        config_path.display(),
        clients_path.display()
    );
    println!("client portail-citoyen secret (keep it for the portal): {secret}");
    println!(
        "start with: sesame serve --config {}",
        config_path.display()
    );
    Ok(())
}

/// `http://127.0.0.1:9000` → `127.0.0.1:9000`, so `init --issuer` on a
/// loopback address listens where the issuer says.
fn loopback_listen(issuer: &str) -> Option<String> {
    let url = url::Url::parse(issuer).ok()?;
    let host = url.host_str()?;
    let ip = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    ip.parse::<std::net::IpAddr>()
        .ok()
        .filter(|ip| ip.is_loopback())?;
    Some(format!("{ip}:{}", url.port_or_known_default()?))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// `--help` describes every verb and every option of every verb.
    #[test]
    fn every_verb_and_option_is_described() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if arg.get_help().is_none() && !builtin {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                let path = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() {
                    missing.push(path.clone());
                }
                walk(sub, &path, missing);
            }
        }
        let command = Cli::command();
        command.clone().debug_assert();
        let mut missing = Vec::new();
        walk(&command, "sesame", &mut missing);
        assert!(missing.is_empty(), "undescribed: {missing:?}");
    }
}
