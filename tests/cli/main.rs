//! The command line of DESIGN §4, run as the real binary: each command
//! prints a short result, or fails with status 1 and a one-line reason.

// A test stops at the line that failed (Cargo.toml denies these outside tests;
// helpers here are not `#[test]` functions, so clippy.toml does not cover them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod citizen;
#[path = "../common/mod.rs"]
mod common;
mod first_run;
mod journey_logs;
#[path = "../api/mailbox.rs"]
mod mailbox;
mod nodes;
mod operations;
mod process;
mod reset_2fa;
mod rotation;

/// Runs `sesame args` in the test's own folder, without SESAME_CONFIG.
fn sesame(args: &[&str], stdin: Option<&str>) -> Output {
    sesame_with(&mut Command::new(env!("CARGO_BIN_EXE_sesame")), args, stdin)
}

/// Runs `sesame args` as `command` (folder, environment) prepares it.
fn sesame_with(command: &mut Command, args: &[&str], stdin: Option<&str>) -> Output {
    if command.get_envs().all(|(k, _)| k != "SESAME_CONFIG") {
        command.env_remove("SESAME_CONFIG");
    }
    let mut child = command
        .args(args)
        .env("RUST_LOG", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

/// `sesame` run in `folder`.
fn in_folder(folder: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sesame"));
    command.current_dir(folder);
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `sesame serve` as a child process whose log lines are collected; killed
/// (by its own id) when dropped.
struct Serving {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Serving {
    /// Starts `serve` at the log level `info`, unless `command` sets its
    /// own `RUST_LOG`.
    fn start(command: &mut Command, args: &[&str]) -> Serving {
        if command.get_envs().all(|(k, _)| k != "RUST_LOG") {
            command.env("RUST_LOG", "info");
        }
        let mut child = command
            .env_remove("SESAME_CONFIG")
            .args(["serve"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let serving = Serving { child, log };
        serving.wait_for("is listening");
        serving
    }

    /// Waits (10 s at most) for a log line containing `needle`; returns it.
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(line) = self.log.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return line.clone();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no log line with {needle:?} in:\n{}", self.log());
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{name}");
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn init_then_user_add_then_check_and_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let init = sesame(&["init", d, "--issuer", "https://id.example.org"], None);
    assert!(init.status.success(), "{}", text(&init.stderr));
    assert!(text(&init.stdout).contains("portail-citoyen"));
    let again = sesame(&["init", d], None);
    assert!(!again.status.success(), "init never overwrites");

    let config = format!("{d}/sesame.toml");
    let add = sesame(
        &[
            "user",
            "add",
            "--config",
            &config,
            "--email",
            "nathalie@example.test",
            "--password-stdin",
            "--verified",
            "--role",
            "citizen",
            "--role",
            "agent",
        ],
        Some("Passw0rdSecure\n"),
    );
    assert!(add.status.success(), "{}", text(&add.stderr));
    assert!(text(&add.stdout).contains("nathalie@example.test"));
    let twice = sesame(
        &[
            "user",
            "add",
            "--config",
            &config,
            "--email",
            "nathalie@example.test",
            "--password-stdin",
        ],
        Some("Another-Passw0rd-2\n"),
    );
    assert_eq!(twice.status.code(), Some(1));
    assert!(text(&twice.stderr).contains("already exists"));
    let bad_date = sesame(
        &[
            "user",
            "add",
            "--config",
            &config,
            "--email",
            "b@example.test",
            "--password-stdin",
            "--birthdate",
            "01/01/1977",
        ],
        Some("Passw0rdSecure\n"),
    );
    assert_eq!(bad_date.status.code(), Some(1));
    assert!(text(&bad_date.stderr).contains("--birthdate"));

    let check = sesame(&["clients", "check", "--config", &config], None);
    assert!(check.status.success(), "{}", text(&check.stderr));
    assert!(text(&check.stdout).contains("portail-citoyen"));

    let rotate = sesame(&["keys", "rotate", "--config", &config], None);
    assert!(rotate.status.success(), "{}", text(&rotate.stderr));
    assert_eq!(std::fs::read_dir(format!("{d}/keys")).unwrap().count(), 4);
}

#[test]
fn a_bad_clients_file_is_named_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    assert!(sesame(&["init", d], None).status.success());
    std::fs::write(
        format!("{d}/clients.toml"),
        "[[client]]\nid = \"x\"\nredirect_uris = [\"/relative\"]\nauth_method = \"none\"\n",
    )
    .unwrap();
    let out = sesame(
        &["clients", "check", "--config", &format!("{d}/sesame.toml")],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    // The instance line, then the reason in one line.
    let reason: Vec<&str> = err
        .lines()
        .filter(|l| !l.starts_with("sesame: instance:"))
        .collect();
    assert_eq!(reason.len(), 1, "{err}");
    let err = reason[0];
    assert!(
        err.contains("clients.toml") && err.contains("client \"x\".redirect_uris"),
        "{err}"
    );
    let serve = sesame(&["serve", "--config", &format!("{d}/sesame.toml")], None);
    assert_eq!(serve.status.code(), Some(1), "a bad file stops start-up");
}

#[test]
fn new_secret_prints_the_secret_and_its_digest() {
    let out = sesame(&["clients", "new-secret"], None);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    let secret = stdout
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .unwrap();
    let digest = sesame::secrets::sha256_prefixed(secret);
    assert!(stdout.contains(&digest), "{stdout}");
}

#[test]
fn the_password_never_comes_from_the_command_line() {
    let out = sesame(
        &[
            "user",
            "add",
            "--email",
            "a@example.test",
            "--password",
            "x",
        ],
        None,
    );
    assert!(!out.status.success());
}

/// `serve` runs OpenSSL with the capability mask this CPU calls for, or
/// with the one the operator set.
#[cfg(target_os = "linux")]
#[test]
fn serve_runs_openssl_with_the_right_capability_mask() {
    use std::io::{BufRead, BufReader};
    let running_with = |operator: Option<&str>| -> Option<String> {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_sesame"));
        command
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--issuer",
                "http://127.0.0.1:1",
            ])
            .current_dir(dir.path())
            .env("RUST_LOG", "info")
            .env_remove("OPENSSL_ia32cap")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(caps) = operator {
            command.env("OPENSSL_ia32cap", caps);
        }
        let mut child = command.spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        assert!(
            lines.any(|l| l.unwrap().contains("is listening")),
            "serve started"
        );
        let environ = std::fs::read(format!("/proc/{}/environ", child.id())).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        environ
            .split(|&b| b == 0)
            .filter_map(|v| std::str::from_utf8(v).ok())
            .find_map(|v| v.strip_prefix("OPENSSL_ia32cap=").map(str::to_owned))
    };
    assert_eq!(
        running_with(None).as_deref(),
        sesame::tuning::openssl_caps_here()
    );
    assert_eq!(running_with(Some(":~0")).as_deref(), Some(":~0"));
}

/// SIGTERM (systemd's stop): the listener closes at once, the request in
/// flight still gets its answer, then the process exits successfully.
#[cfg(unix)]
#[test]
fn sigterm_finishes_the_request_in_flight_then_exits() {
    use std::io::{BufRead, BufReader, Read};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sesame"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--issuer",
            "http://127.0.0.1:1",
        ])
        .current_dir(dir.path())
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let listening = lines
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.contains("is listening"))
        .expect("serve started");
    // The bound address is the last 127.0.0.1:PORT of the line.
    let at = listening.rfind("127.0.0.1:").unwrap();
    let port: String = listening[at + 10..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let addr = format!("127.0.0.1:{port}");
    std::thread::spawn(move || lines.for_each(drop));

    let mut in_flight = TcpStream::connect(&addr).unwrap();
    let body = "grant_type=client_credentials";
    write!(
        in_flight,
        "POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\ngrant_type=",
        body.len()
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(&addr).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    in_flight
        .write_all(&body.as_bytes()["grant_type=".len()..])
        .unwrap();
    in_flight
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    in_flight.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 401") && answer.contains("invalid_client"),
        "the request in flight was answered: {answer}"
    );
    let exited = child.wait().unwrap();
    assert!(exited.success(), "{exited:?}");
}
