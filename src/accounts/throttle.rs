//! Throttling of guessable actions: a growing delay after failed sign-ins
//! (per submitted address and per client address), and a windowed bound
//! on actions that write for an unauthenticated visitor (pending
//! authorization requests). Counters live in the `throttle` table and are
//! read and written in the job of the request they judge.
//!
//! Keys name what is counted, never a user row: an unknown address is
//! counted exactly like a known one, so the delay tells nothing about
//! which addresses have an account.

use std::net::IpAddr;

use crate::config::{Backoff, WindowLimit};
use crate::store::throttle::{self, Counter};
use crate::store::{Result, Tx};

/// The counter of failed sign-ins for a submitted address (case folded,
/// as addresses are compared).
pub fn account_key(email: &str) -> String {
    format!("login:{}", email.trim().to_lowercase())
}

/// The counter of failed sign-ins from a client address.
pub fn client_key(requester: &str) -> String {
    format!("login-ip:{requester}")
}

/// The counter of pending authorization requests a client address opened.
pub fn pending_key(requester: &str) -> String {
    format!("pending:{requester}")
}

/// A client address as counted by the limits: an IPv6 address by its /64
/// (one subscriber usually holds a whole /64, and would otherwise step
/// around a per-address limit by changing its low bits); anything that
/// does not parse as it is.
pub fn requester(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_default(),
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

/// The block that the `count`th failure of a run earns, in seconds
/// (0: none yet).
pub fn delay(backoff: &Backoff, count: i64) -> i64 {
    if backoff.free <= 0 && backoff.first_delay_seconds <= 0 {
        return 0;
    }
    let over = count - backoff.free;
    if over <= 0 {
        return 0;
    }
    let doublings = u32::try_from((over - 1).min(40)).unwrap_or(40);
    backoff
        .first_delay_seconds
        .saturating_mul(1_i64 << doublings)
        .min(backoff.max_delay_seconds)
}

/// Seconds until `key` may be tried again; `None` when it may be now.
pub fn blocked(tx: &Tx<'_>, key: &str, now: i64) -> Result<Option<i64>> {
    Ok(throttle::get(tx, key)?
        .filter(|c| c.blocked_until > now)
        .map(|c| c.blocked_until - now))
}

/// Counts one failure of `key` (a run forgotten after its quiet period
/// starts over) and blocks it for the delay that failure earns.
pub fn fail(tx: &Tx<'_>, key: &str, backoff: &Backoff, now: i64) -> Result<()> {
    let run = throttle::get(tx, key)?
        .filter(|c| now <= c.since.max(c.blocked_until) + backoff.forget_after_seconds)
        .unwrap_or_default();
    let count = run.count + 1;
    let delay = delay(backoff, count);
    throttle::put(
        tx,
        key,
        Counter {
            count,
            since: now,
            blocked_until: if delay > 0 { now + delay } else { 0 },
        },
    )
}

/// Takes back one failure of `key` (an attempt counted before its check
/// turned out right); the block it may have earned stays.
pub fn forgive(tx: &Tx<'_>, key: &str) -> Result<()> {
    match throttle::get(tx, key)? {
        Some(c) if c.count > 1 => throttle::put(
            tx,
            key,
            Counter {
                count: c.count - 1,
                ..c
            },
        ),
        Some(c) if c.blocked_until == 0 => throttle::delete(tx, key),
        _ => Ok(()),
    }
}

/// Forgets `key`'s failures and block (a success, a password reset).
pub fn clear(tx: &Tx<'_>, key: &str) -> Result<()> {
    throttle::delete(tx, key)
}

/// Takes one of `limit.max` events of `key`'s current window; when none is
/// left, the seconds until the window ends (nothing is counted).
pub fn take(
    tx: &Tx<'_>,
    key: &str,
    limit: &WindowLimit,
    now: i64,
) -> Result<std::result::Result<(), i64>> {
    if limit.max <= 0 {
        return Ok(Ok(()));
    }
    let current = throttle::get_to_change(tx, key)?
        .filter(|c| now < c.since + limit.window_seconds)
        .unwrap_or(Counter {
            count: 0,
            since: now,
            blocked_until: 0,
        });
    if current.count >= limit.max {
        return Ok(Err((current.since + limit.window_seconds - now).max(1)));
    }
    throttle::put(
        tx,
        key,
        Counter {
            count: current.count + 1,
            ..current
        },
    )?;
    Ok(Ok(()))
}

#[cfg(test)]
mod tests;
