//! Sésame, the portal and chromedriver as child processes on free ports,
//! each test with its own temporary folder; killed (with Chromium) when the
//! test ends, whatever happens.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub use crate::common::instance::PASSWORD;
use crate::common::instance::{free_port, portal_clients_toml, write_instance};

pub const PORTAL_SECRET: &str = "e2e-portal-secret-0123456789abcdef012345";
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

const INSTALL: &str = "install what the browser tests need with `scripts/test` (it runs \
    `apt-get install -y chromium chromium-driver` and `npm ci --prefix tests/e2e`), then run it again";

/// `target/` (found from this test binary: target/<profile>/deps/e2e-…).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors().nth(3).expect("target folder").to_path_buf()
}

fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(2)
        .expect("profile folder")
        .to_path_buf()
}

/// The axe-core script, or a failure saying how to install it.
pub fn axe_source() -> &'static str {
    static AXE: OnceLock<String> = OnceLock::new();
    AXE.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/e2e/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("axe-core is missing ({}: {e}): {INSTALL}", path.display()))
    })
}

/// Checks Chromium and chromedriver are installed.
pub fn check_browser_installed() {
    for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
        assert!(
            Path::new(path).exists(),
            "{path} is missing (Debian package {package}): {INSTALL}"
        );
    }
    axe_source();
}

/// The portal binary. `cargo test` builds the examples before running
/// tests; a filtered run (`cargo test --test e2e`) does not, so a missing
/// or stale binary fails with the command to run. (Calling cargo from here
/// would wait for the build lock that the running `cargo test` holds.)
pub fn portal_binary() -> PathBuf {
    let binary = profile_dir().join("examples/citizen_portal");
    let build = "run `cargo build --example citizen_portal` (plain `cargo test` and `scripts/test` build it)";
    let built = std::fs::metadata(&binary)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("the portal binary {} is missing: {build}", binary.display()));
    let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/citizen_portal");
    let mut folders = vec![sources];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t > built)
            {
                panic!(
                    "the portal binary is older than {}: {build}",
                    path.display()
                );
            }
        }
    }
    binary
}

/// A child process, killed (by its own id only) on drop. Chromium itself
/// is ended by closing the WebDriver session first (`browser::run`).
struct Guarded(Child);

impl Drop for Guarded {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(command: &mut Command, log: &Path) -> Guarded {
    let out = std::fs::File::create(log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    Guarded(child)
}

/// Waits until `url` answers (any status), or fails naming the log.
async fn wait_for(url: &str, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let http = reqwest::Client::new();
    while Instant::now() < deadline {
        if http.get(url).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let tail = std::fs::read_to_string(log).unwrap_or_default();
    panic!(
        "{what} did not answer at {url} within 20 s; its log ({}):\n{tail}",
        log.display()
    );
}

/// Sésame, the portal and chromedriver for one test.
pub struct Stack {
    pub sesame: String,
    pub portal: String,
    pub webdriver: String,
    pub dir: tempfile::TempDir,
    /// Where this test's screenshots and logs go.
    pub artifacts: PathBuf,
    config: PathBuf,
    _children: Vec<Guarded>,
}

impl Stack {
    pub async fn start(test: &str) -> Stack {
        Stack::start_with(test, "").await
    }

    /// [`Stack::start`] with `portal_keys` added to the portal's client in
    /// clients.toml (`require_2fa = true`, …).
    pub async fn start_with(test: &str, portal_keys: &str) -> Stack {
        check_browser_installed();
        let portal_bin = portal_binary();
        let artifacts = target_dir().join("e2e-screenshots").join(test);
        let _ = std::fs::remove_dir_all(&artifacts);
        std::fs::create_dir_all(&artifacts).expect("screenshot folder");
        let dir = tempfile::tempdir().expect("temp folder");
        let (sesame_port, portal_port, driver_port) = (free_port(), free_port(), free_port());
        let sesame = format!("http://127.0.0.1:{sesame_port}");
        let portal = format!("http://127.0.0.1:{portal_port}");
        let config = write_instance(
            dir.path(),
            &sesame,
            &format!("127.0.0.1:{sesame_port}"),
            &format!(
                "{}{portal_keys}\n",
                portal_clients_toml(&portal, PORTAL_SECRET)
            ),
            "",
        );

        let mut children = Vec::new();
        let log = artifacts.join("sesame.log");
        children.push(spawn(
            Command::new(env!("CARGO_BIN_EXE_sesame"))
                .args(["serve", "--config"])
                .arg(&config)
                .env("RUST_LOG", "info"),
            &log,
        ));
        wait_for(
            &format!("{sesame}/.well-known/openid-configuration"),
            "Sésame",
            &log,
        )
        .await;

        let log = artifacts.join("portal.log");
        children.push(spawn(
            Command::new(&portal_bin)
                .args(["--issuer", &sesame, "--client-id", "portail-citoyen"])
                .args(["--listen", &format!("127.0.0.1:{portal_port}")])
                .arg("--data-dir")
                .arg(dir.path().join("portal"))
                .env("PORTAL_CLIENT_SECRET", PORTAL_SECRET),
            &log,
        ));
        wait_for(&format!("{portal}/"), "the portal", &log).await;

        let log = artifacts.join("chromedriver.log");
        children.push(spawn(
            Command::new(CHROMEDRIVER).arg(format!("--port={driver_port}")),
            &log,
        ));
        let webdriver = format!("http://127.0.0.1:{driver_port}");
        wait_for(&format!("{webdriver}/status"), "chromedriver", &log).await;

        Stack {
            sesame,
            portal,
            webdriver,
            dir,
            artifacts,
            config,
            _children: children,
        }
    }

    pub fn portal(&self, path: &str) -> String {
        format!("{}{path}", self.portal)
    }

    /// A verified citizen, added with `sesame user add` (DESIGN §4).
    pub fn add_citizen(&self, email: &str) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sesame"))
            .args(["user", "add", "--config"])
            .arg(&self.config)
            .args(["--email", email, "--password-stdin", "--verified"])
            .args([
                "--given-name",
                "Nathalie",
                "--family-name",
                "Test",
                "--gender",
                "female",
            ])
            .args(["--role", "citizen"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("sesame user add");
        writeln!(child.stdin.take().expect("stdin"), "{PASSWORD}").expect("password");
        assert!(
            child.wait().expect("sesame user add").success(),
            "sesame user add {email}"
        );
    }

    /// The newest mail in Sésame's outbox, waiting up to 10 s for one to
    /// come: Sésame's mail worker writes it after the page that says
    /// « sent » has answered, as a mailbox receives it a moment later.
    pub async fn newest_mail(&self) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mail = self.newest_mail_now();
            if mail.is_some() || Instant::now() > deadline {
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The newest mail Sésame wrote to its outbox, decoded enough to read
    /// its links (quoted-printable soft breaks and `=3D`).
    fn newest_mail_now(&self) -> Option<String> {
        let mut mails: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
        let mut folders = vec![self.dir.path().to_path_buf()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    folders.push(path);
                } else if path.extension().is_some_and(|e| e == "eml") {
                    let modified = entry.metadata().and_then(|m| m.modified()).ok()?;
                    mails.push((modified, path));
                }
            }
        }
        mails.sort();
        // Decoded as a mail client would: the subject's RFC 2047 words, the
        // text part's transfer encoding.
        let raw = std::fs::read(&mails.last()?.1).ok()?;
        let message = mail_parser::MessageParser::default().parse(&raw)?;
        Some(format!(
            "Subject: {}\n\n{}",
            message.subject().unwrap_or_default(),
            message.body_text(0).unwrap_or_default()
        ))
    }

    /// The first link to Sésame in the newest mail ([`Stack::newest_mail`]).
    pub async fn link_in_newest_mail(&self) -> Option<String> {
        let mail = self.newest_mail().await?;
        let start = mail.find(&self.sesame)?;
        let end = mail[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '<' | '>' | '\''))
            .map_or(mail.len(), |e| start + e);
        Some(mail[start..end].replace("&amp;", "&"))
    }
}
