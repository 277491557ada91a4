//! Second-factor codes computed as a citizen's authenticator app would,
//! from the key read off the enrolment page.

use std::time::{SystemTime, UNIX_EPOCH};

/// The code of `key` (base32, spaces allowed) at Unix time `at`.
pub fn code(key: &str, at: u64) -> String {
    let compact: String = key.chars().filter(|c| !c.is_whitespace()).collect();
    let secret = totp_rs::Secret::try_from_base32(compact).expect("a base32 key");
    totp_rs::Builder::new()
        .with_secret(secret)
        .build()
        .expect("a TOTP")
        .generate(at)
        .to_string()
}

/// Now, once at least 4 s away from a step boundary, so the server (a few
/// milliseconds later) sees the same step as the code computed here.
pub async fn mid_step() -> u64 {
    loop {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        if (4..26).contains(&(now % 30)) {
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}
