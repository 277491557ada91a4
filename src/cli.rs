//! The command line of DESIGN §4: `serve`, `init`, `user add`,
//! `clients new-secret|check`, `keys rotate`. Each prints a short result
//! and fails with a one-line reason.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::accounts::password::hash_blocking;
use crate::accounts::users::{Email, new_user};
use crate::config::{self, Clients, Config};
use crate::{app, http, keys, secrets, store};

#[derive(Parser)]
#[command(
    name = "sesame",
    version,
    about = "Sésame — OpenID Connect provider for a city's online services"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the provider (built-in defaults without --config).
    Serve(ServeArgs),
    /// Writes DIR/sesame.toml, DIR/clients.toml, keys and the data folder.
    Init {
        dir: PathBuf,
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
}

#[derive(Args, Default)]
struct ServeArgs {
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long)]
    listen: Option<String>,
    #[arg(long)]
    issuer: Option<String>,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Creates a citizen; the password is read from standard input.
    Add(UserAdd),
}

#[derive(Clone, Copy, ValueEnum)]
enum Gender {
    Female,
    Male,
}

#[derive(Args)]
struct UserAdd {
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long)]
    email: String,
    /// Read the password from the first line of standard input.
    #[arg(long, required = true)]
    password_stdin: bool,
    /// Mark the email address as already verified.
    #[arg(long)]
    verified: bool,
    #[arg(long)]
    given_name: Option<String>,
    #[arg(long)]
    family_name: Option<String>,
    #[arg(long)]
    preferred_username: Option<String>,
    #[arg(long, value_enum)]
    gender: Option<Gender>,
    /// YYYY-MM-DD
    #[arg(long)]
    birthdate: Option<String>,
    #[arg(long)]
    phone: Option<String>,
    #[arg(long)]
    street: Option<String>,
    #[arg(long)]
    postal_code: Option<String>,
    #[arg(long)]
    locality: Option<String>,
    #[arg(long)]
    country: Option<String>,
    #[arg(long = "role")]
    roles: Vec<String>,
}

#[derive(Subcommand)]
enum ClientsCommand {
    /// Prints a new client secret and the sha256: digest for clients.toml.
    NewSecret,
    /// Validates clients.toml and prints the clients.
    Check {
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Makes new active signing keys; the previous ones stay published.
    Rotate {
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// Runs the command line; `Err` is the one-line reason to print.
pub async fn run(cli: Cli) -> Result<(), String> {
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => serve(args).await,
        Command::Init { dir, issuer } => init(&dir, issuer.as_deref()),
        Command::User(command) => match *command {
            UserCommand::Add(args) => user_add(args),
        },
        Command::Clients(ClientsCommand::NewSecret) => {
            let secret = secrets::token();
            println!("secret: {secret}");
            println!(
                "clients.toml: secret = \"{}\"",
                secrets::sha256_prefixed(&secret)
            );
            Ok(())
        }
        Command::Clients(ClientsCommand::Check { config }) => clients_check(config.as_deref()),
        Command::Keys(KeysCommand::Rotate { config }) => {
            let config = Config::load_or_default(config.as_deref()).map_err(|e| e.to_string())?;
            let kids = keys::rotate(&config.keys_dir, app::now()).map_err(|e| e.to_string())?;
            println!(
                "new active keys in {}: {}",
                config.keys_dir.display(),
                kids.join(", ")
            );
            println!("restart `sesame serve` to sign with them; the previous keys stay published");
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let mut config = Config::load_or_default(args.config.as_deref()).map_err(|e| e.to_string())?;
    if let Some(listen) = &args.listen {
        config.set_listen(listen).map_err(|e| e.to_string())?;
    }
    if let Some(issuer) = &args.issuer {
        config.set_issuer(issuer).map_err(|e| e.to_string())?;
    }
    if args.config.is_none() {
        tracing::info!(
            "no --config: running on built-in defaults with the demo client portail-citoyen"
        );
    }
    let (router, state) = http::start::build(config.clone()).map_err(|e| e.to_string())?;
    let listener = http::start::bind(&config)
        .await
        .map_err(|e| e.to_string())?;
    let listen = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(issuer = %config.issuer, %listen, clients = state.clients().len(), "Sésame is listening");
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
    let config = Config::load(&config_path).map_err(|e| e.to_string())?;
    keys::KeyRing::load_or_create(&config.keys_dir, app::now()).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    store::open_for_cli(&config.data_dir).map_err(|e| e.to_string())?;
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

fn user_add(args: UserAdd) -> Result<(), String> {
    let config = Config::load_or_default(args.config.as_deref()).map_err(|e| e.to_string())?;
    let email = Email::parse(&args.email)
        .ok_or_else(|| format!("--email: `{}` is not an email address", args.email))?;
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    let password = password.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err("no password on standard input".into());
    }
    if let Some(date) = &args.birthdate {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(date, &format)
            .map_err(|_| format!("--birthdate: `{date}` is not YYYY-MM-DD"))?;
    }
    let hash = hash_blocking(password)?;
    let mut user = new_user(&email, hash, app::now());
    user.email_verified = args.verified;
    user.given_name = args.given_name;
    user.family_name = args.family_name;
    user.preferred_username = args.preferred_username;
    user.gender = args.gender.map(|g| match g {
        Gender::Female => "female".into(),
        Gender::Male => "male".into(),
    });
    user.birthdate = args.birthdate;
    user.phone_number = args.phone;
    user.street_address = args.street;
    user.postal_code = args.postal_code;
    user.locality = args.locality;
    user.country = args.country;
    user.roles = args.roles;
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    let db = store::open_for_cli(&config.data_dir).map_err(|e| e.to_string())?;
    let conn = db.tx();
    if store::users::by_email(&conn, email.as_str())
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Err(format!("an account with {} already exists", email.as_str()));
    }
    store::users::insert(&conn, &user).map_err(|e| e.to_string())?;
    println!(
        "created {} (sub {}){}",
        user.email,
        user.sub,
        if user.email_verified {
            ", verified"
        } else {
            ""
        }
    );
    Ok(())
}

fn clients_check(config: Option<&Path>) -> Result<(), String> {
    let config = Config::load_or_default(config).map_err(|e| e.to_string())?;
    let clients: Clients = config.load_clients().map_err(|e| e.to_string())?;
    let source = config
        .clients_file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "(built-in demo)".into());
    println!("{source}: {} client(s) OK", clients.len());
    println!(
        "{:<20} {:<20} {:<20} {:<9} {:<45} SCOPES",
        "ID", "NAME", "AUTH", "CONSENT", "GRANTS"
    );
    for c in clients.iter() {
        let grants: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
        let consent = match c.consent {
            config::ConsentMode::Required => "required",
            config::ConsentMode::Implicit => "implicit",
        };
        println!(
            "{:<20} {:<20} {:<20} {:<9} {:<45} {}",
            c.id,
            c.name,
            c.auth_method.as_str(),
            consent,
            grants.join(","),
            c.scopes.join(" ")
        );
    }
    Ok(())
}
