//! A real SMTP listener for the tests: a tiny in-process server on
//! 127.0.0.1 speaking EHLO/MAIL/RCPT/DATA/RSET/NOOP/QUIT, collecting the
//! messages it receives, and helpers to read them.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// One message as received over SMTP.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

impl Received {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("a parsable RFC 5322 message")
    }

    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_owned()
    }

    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }

    pub fn html(&self) -> String {
        self.parsed()
            .body_html(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }

    /// The first link of the text part that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> String {
        let text = self.text();
        let start = text
            .find(prefix)
            .unwrap_or_else(|| panic!("no {prefix} link in:\n{text}"));
        text[start..].split_whitespace().next().unwrap().to_owned()
    }
}

pub struct SmtpSink {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    arrived: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        SmtpSink::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    pub async fn start_on(addr: SocketAddr) -> SmtpSink {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let arrived = Arc::new(Notify::new());
        let (r, a) = (received.clone(), arrived.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (r, a) = (r.clone(), a.clone());
                tokio::spawn(async move {
                    let _ = session(stream, r, a).await;
                });
            }
        });
        SmtpSink {
            addr,
            received,
            arrived,
            task,
        }
    }

    /// The `[mail]` section pointing Sésame at this listener.
    pub fn config(&self) -> String {
        format!(
            "[mail]\ntransport = \"smtp\"\nsmtp_url = \"smtp://{}\"\n",
            self.addr
        )
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    pub fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (up to 10 s) for message number `n` (1-based) and returns it.
    pub async fn nth(&self, n: usize) -> Received {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.arrived.notified();
            if let Some(m) = self.received.lock().unwrap().get(n - 1) {
                return m.clone();
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("mail number {n} never arrived ({} received)", self.count());
            }
        }
    }

    /// Waits for the next message to `to` after the `seen` first ones.
    pub async fn next_to(&self, to: &str, seen: usize) -> Received {
        let mut n = seen + 1;
        loop {
            let m = self.nth(n).await;
            if m.to.iter().any(|t| t == to) {
                return m;
            }
            n += 1;
        }
    }

    /// Asserts nothing more arrives for a moment.
    pub async fn assert_quiet(&self, count: usize) {
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(self.count(), count, "no further mail expected");
    }
}

async fn session(
    stream: tokio::net::TcpStream,
    received: Arc<Mutex<Vec<Received>>>,
    arrived: Arc<Notify>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if upper.starts_with("HELO") {
            b"250 sink.test\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&line);
            to.clear();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&line));
            b"250 OK\r\n"
        } else if upper.starts_with("DATA") {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut data = Vec::new();
            loop {
                let mut l = String::new();
                if lines.read_line(&mut l).await? == 0 {
                    return Ok(());
                }
                if l == ".\r\n" || l == ".\n" {
                    break;
                }
                let l = l.strip_prefix('.').unwrap_or(&l);
                data.extend_from_slice(l.as_bytes());
            }
            received.lock().unwrap().push(Received {
                from: from.clone(),
                to: to.clone(),
                data,
            });
            arrived.notify_waiters();
            b"250 queued\r\n"
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"250 OK\r\n"
        };
        write.write_all(reply).await?;
    }
}

fn address(line: &str) -> String {
    line.split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(a, _)| a.to_owned())
        .unwrap_or_default()
}
