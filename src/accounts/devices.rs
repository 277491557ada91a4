//! « Appareils connectés »: the citizen's signed-in browsers (browser
//! family, address, started, last seen, « cette session »), ending one of
//! them or all the others. Ending a session does what a logout does: its
//! services' tokens die and they get a back-channel logout.

use crate::config::Clients;
use crate::oidc::logout;
use crate::store::{self, Tx, sessions};

pub use crate::store::sessions::Device;

/// The live sessions of `sub`, most recent first.
pub fn list(tx: &Tx<'_>, sub: &str, now: i64) -> store::Result<Vec<Device>> {
    sessions::list_of(tx, sub, now)
}

/// Notes the browser and address the session under `digest` was opened from.
pub fn note(tx: &Tx<'_>, digest: &str, ip: &str, user_agent: &str) -> store::Result<()> {
    sessions::set_device(tx, digest, ip, user_agent)
}

/// When a session was last used: its idle deadline slides by `idle` on
/// use (to the minute), so this is that deadline less `idle`.
pub fn last_seen(device: &Device, idle: i64) -> i64 {
    (device.idle_expires_at - idle).max(device.created_at)
}

/// Ends session `sid` of `sub` (never another citizen's: false then).
pub fn end(tx: &Tx<'_>, clients: &Clients, sub: &str, sid: &str, now: i64) -> store::Result<bool> {
    let tx = tx.savepoint()?;
    if !sessions::delete_of(&tx, sub, sid)? {
        return Ok(false);
    }
    after_ended(&tx, clients, sub, sid, now)?;
    tx.commit()?;
    Ok(true)
}

/// Ends every session of `sub` but `keep_sid`; returns how many.
pub fn end_others(
    tx: &Tx<'_>,
    clients: &Clients,
    sub: &str,
    keep_sid: &str,
    now: i64,
) -> store::Result<usize> {
    let tx = tx.savepoint()?;
    let ended = sessions::delete_others(&tx, sub, Some(keep_sid))?;
    for sid in &ended {
        after_ended(&tx, clients, sub, sid, now)?;
    }
    tx.commit()?;
    Ok(ended.len())
}

fn after_ended(
    tx: &Tx<'_>,
    clients: &Clients,
    sub: &str,
    sid: &str,
    now: i64,
) -> store::Result<()> {
    let has_backchannel = |id: &str| {
        clients
            .get(id)
            .is_some_and(|c| c.backchannel_logout_uri.is_some())
    };
    logout::after_session_ended(tx, sid, sub, &has_backchannel, now)?;
    Ok(())
}

/// « Firefox sur Linux »: a browser family and system from a User-Agent,
/// enough for a citizen to recognise their device (`None` if unknown).
pub fn family(user_agent: &str) -> Option<(&'static str, &'static str)> {
    let ua = user_agent;
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") || ua.contains("Opera") {
        "Opera"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") || ua.contains("CriOS/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else {
        return None;
    };
    let system = if ua.contains("Android") {
        "Android"
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        "iOS"
    } else if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "macOS"
    } else if ua.contains("Linux") || ua.contains("X11") {
        "Linux"
    } else {
        "?"
    };
    Some((browser, system))
}

#[cfg(test)]
mod tests {
    use super::family;

    #[test]
    fn browser_families() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(family(firefox), Some(("Firefox", "Linux")));
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(family(safari), Some(("Safari", "iOS")));
        assert_eq!(family("curl/8.0"), None);
    }
}
