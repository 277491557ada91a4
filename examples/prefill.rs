//! Bench only (`scripts/bench` with `BENCH_PREFILL`): fills an instance's
//! database with a large city — citizens with a refresh family each, and
//! access tokens issued over the last days, most of them expired — through
//! the store's own insert functions in big transactions, not through HTTP
//! sign-ups. One argon2 hash is computed and shared by every citizen (their
//! password is `Prefill-Citoyen-2026`); rows are written in key order, as
//! the server would have appended them. A second backend gets the same
//! prefill by implementing the same store functions.
//!
//!   cargo run --release --example prefill -- CONFIG CITIZENS TOKENS DAYS
//!
//! Citizens are `citoyen<N>@prefill.example` (N from 0, 9 digits); tokens
//! are made evenly over the last DAYS days, so those older than a day past
//! their lifetime are what the next housekeeping pass removes.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use sesame::accounts::password::hash_blocking;
use sesame::config::Config;
use sesame::protocol::{ClientId, Scopes};
use sesame::store::grants::{self, AccessToken, Grant};
use sesame::store::users::{self, User};
use sesame::store::{self, Db};
use sesame::{app, secrets};

/// Rows per transaction.
const CHUNK: u64 = 50_000;
const CLIENT: &str = "bench-rp";
const SCOPES: &str = "openid email profile offline_access";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("prefill: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config, citizens, tokens, days] = args.as_slice() else {
        return Err("usage: prefill CONFIG CITIZENS TOKENS DAYS".into());
    };
    let number = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| format!("`{s}` is not a number"))
    };
    let (citizens, tokens, days) = (number(citizens)?, number(tokens)?, number(days)?);
    let config = Config::load(Path::new(config)).map_err(|e| e.to_string())?;
    let db = store::open_for_cli(&config.database).map_err(|e| e.to_string())?;
    let city = City {
        now: app::now(),
        citizens: citizens.max(1),
        days: days as i64,
        access_ttl: config.tokens.access_token_ttl,
        family_ttl: config.tokens.refresh_absolute_ttl,
        client: ClientId::parse(CLIENT).ok_or("bad client id")?,
        scopes: Scopes::parse(SCOPES).map_err(|_| "bad scopes")?,
    };
    let started = Instant::now();
    let hash = hash_blocking("Prefill-Citoyen-2026")?;
    let empty = used(&db)?;
    in_chunks(&db, citizens, |tx, i| city.citizen(tx, i, &hash))?;
    let with_citizens = used(&db)?;
    println!(
        "prefill: {citizens} citizens (one refresh family each) in {:.0?}: {:.0} MB, {} bytes a citizen",
        started.elapsed(),
        (with_citizens - empty) as f64 / 1e6,
        (with_citizens - empty) / citizens.max(1) as i64
    );
    let started = Instant::now();
    in_chunks(&db, tokens, |tx, j| city.access_token(tx, j, tokens))?;
    let with_tokens = used(&db)?;
    println!(
        "prefill: {tokens} access tokens over {days} days in {:.0?}: {:.0} MB, {} bytes a token",
        started.elapsed(),
        (with_tokens - with_citizens) as f64 / 1e6,
        (with_tokens - with_citizens) / tokens.max(1) as i64
    );
    Ok(())
}

fn used(db: &Db) -> Result<i64, String> {
    store::stats::bytes_used(&db.tx()).map_err(|e| e.to_string())
}

/// Calls `row` for 0..count, `CHUNK` calls a transaction.
fn in_chunks(
    db: &Db,
    count: u64,
    row: impl Fn(&store::Tx<'_>, u64) -> store::Result<()>,
) -> Result<(), String> {
    let mut start = 0;
    while start < count {
        let tx = db.tx();
        let chunk = tx.savepoint().map_err(|e| e.to_string())?;
        for i in start..(start + CHUNK).min(count) {
            row(&chunk, i).map_err(|e| e.to_string())?;
        }
        chunk.commit().map_err(|e| e.to_string())?;
        start += CHUNK;
    }
    Ok(())
}

struct City {
    now: i64,
    citizens: u64,
    days: i64,
    access_ttl: i64,
    family_ttl: i64,
    client: ClientId,
    scopes: Scopes,
}

impl City {
    /// When the prefilled history starts (Unix seconds).
    fn start(&self) -> i64 {
        self.now - self.days * 86_400
    }

    /// A time-ordered key made at `micros` (as `secrets::ordered_id`).
    fn key(micros: i64, n: u64) -> String {
        format!("{micros:013x}{n:016}")
    }

    fn grant_id(&self, i: u64) -> String {
        Self::key(self.start() * 1_000_000 + i as i64, i)
    }

    fn sub(i: u64) -> String {
        format!("prefill{i:017}")
    }

    /// Citizen `i` with a full profile and a live refresh family.
    fn citizen(&self, tx: &store::Tx<'_>, i: u64, hash: &str) -> store::Result<()> {
        let made = self.start();
        users::insert(
            tx,
            &User {
                sub: Self::sub(i),
                email: format!("citoyen{i:09}@prefill.example"),
                email_verified: true,
                password_hash: hash.to_owned(),
                gender: Some(
                    if i.is_multiple_of(2) {
                        "female"
                    } else {
                        "male"
                    }
                    .into(),
                ),
                given_name: Some("Camille".into()),
                family_name: Some("Martin".into()),
                preferred_username: Some("Martin".into()),
                birthdate: Some("1984-03-21".into()),
                phone_number: Some(format!(
                    "+33 6 {:02} {:02} {:02} {:02}",
                    i % 97,
                    i % 89,
                    i % 83,
                    i % 79
                )),
                street_address: Some(format!("{} rue de la République", i % 200 + 1)),
                postal_code: Some("69001".into()),
                locality: Some("Lyon".into()),
                country: Some("FR".into()),
                created_at: made,
                updated_at: made,
                ..User::default()
            },
        )?;
        let grant = self.grant_id(i);
        grants::insert_grant(
            tx,
            &Grant {
                id: grant.clone(),
                sub: Some(Self::sub(i)),
                client_id: self.client.clone(),
                scopes: self.scopes,
                claims: None,
                sid: Some(format!("sid{i:020}")),
                auth_time: Some(made),
                amr: Some("pwd".into()),
                created_at: made,
                expires_at: Some(self.now + self.family_ttl),
                revoked_at: None,
            },
        )?;
        let refresh = secrets::digest(&format!("prefill-refresh-{i}"));
        grants::insert_refresh_token(tx, &refresh, &grant, made, self.now + 2_592_000)
    }

    /// Access token `j` of `count`, made at its even share of the history,
    /// on behalf of one of the citizens' grants.
    fn access_token(&self, tx: &store::Tx<'_>, j: u64, count: u64) -> store::Result<()> {
        let span = self.days * 86_400 * 1_000_000;
        let micros = self.start() * 1_000_000 + (span as i128 * j as i128 / count as i128) as i64;
        let jti = Self::key(micros, j);
        let citizen = j * self.citizens / count.max(1);
        let token = AccessToken {
            jti: jti.clone(),
            grant_id: Some(self.grant_id(citizen)),
            client_id: self.client.clone(),
            sub: Some(Self::sub(citizen)),
            scopes: self.scopes,
            expires_at: micros / 1_000_000 + self.access_ttl,
        };
        grants::insert_access_token(tx, &token, &secrets::digest(&jti))
    }
}
