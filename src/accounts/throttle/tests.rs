//! The throttling rules on a real (in-memory) database.

use super::*;

const T0: i64 = 1_800_000_000;

fn backoff() -> Backoff {
    Backoff {
        free: 5,
        first_delay_seconds: 2,
        max_delay_seconds: 900,
        forget_after_seconds: 3600,
    }
}

#[test]
fn the_delay_grows_from_seconds_to_minutes_and_stops_at_the_cap() {
    let b = backoff();
    let delays: Vec<i64> = (1..=16).map(|n| delay(&b, n)).collect();
    assert_eq!(
        delays,
        vec![0, 0, 0, 0, 0, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    );
    assert_eq!(delay(&b, i64::MAX), 900, "no overflow, still the cap");
}

#[test]
fn failures_block_then_the_block_ends() {
    let db = crate::store::memory();
    let tx = db.tx();
    let (key, b) = ("login:a@x.test", backoff());
    for i in 0..5 {
        assert_eq!(blocked(&tx, key, T0 + i).unwrap(), None);
        fail(&tx, key, &b, T0 + i).unwrap();
    }
    assert_eq!(blocked(&tx, key, T0 + 5).unwrap(), None, "five are free");
    fail(&tx, key, &b, T0 + 5).unwrap();
    assert_eq!(blocked(&tx, key, T0 + 5).unwrap(), Some(2));
    assert_eq!(blocked(&tx, key, T0 + 6).unwrap(), Some(1));
    assert_eq!(blocked(&tx, key, T0 + 7).unwrap(), None, "never for good");
    fail(&tx, key, &b, T0 + 7).unwrap();
    assert_eq!(blocked(&tx, key, T0 + 7).unwrap(), Some(4));
}

#[test]
fn a_quiet_hour_forgets_the_run_and_clear_forgets_at_once() {
    let db = crate::store::memory();
    let tx = db.tx();
    let (key, b) = ("login:a@x.test", backoff());
    for i in 0..8 {
        fail(&tx, key, &b, T0 + i * 100).unwrap();
    }
    assert!(blocked(&tx, key, T0 + 700).unwrap().is_some());
    // An hour after the block ended, the next failure is a first one.
    let later = T0 + 700 + 8 + 3601;
    fail(&tx, key, &b, later).unwrap();
    assert_eq!(throttle::get(&tx, key).unwrap().unwrap().count, 1);
    for _ in 0..7 {
        fail(&tx, key, &b, later).unwrap();
    }
    assert!(blocked(&tx, key, later).unwrap().is_some());
    clear(&tx, key).unwrap();
    assert_eq!(blocked(&tx, key, later).unwrap(), None);
    assert_eq!(throttle::get(&tx, key).unwrap(), None);
}

#[test]
fn forgive_takes_back_one_failure_but_not_a_block() {
    let db = crate::store::memory();
    let tx = db.tx();
    let (key, b) = ("login-ip:192.0.2.1", backoff());
    fail(&tx, key, &b, T0).unwrap();
    forgive(&tx, key).unwrap();
    assert_eq!(throttle::get(&tx, key).unwrap(), None);
    for _ in 0..6 {
        fail(&tx, key, &b, T0).unwrap();
    }
    forgive(&tx, key).unwrap();
    let c = throttle::get(&tx, key).unwrap().unwrap();
    assert_eq!((c.count, c.blocked_until), (5, T0 + 2));
}

#[test]
fn a_window_allows_its_maximum_then_says_when_it_ends() {
    let db = crate::store::memory();
    let tx = db.tx();
    let limit = WindowLimit {
        max: 3,
        window_seconds: 600,
    };
    for i in 0..3 {
        assert_eq!(take(&tx, "k", &limit, T0 + i).unwrap(), Ok(()));
    }
    assert_eq!(take(&tx, "k", &limit, T0 + 100).unwrap(), Err(500));
    assert_eq!(take(&tx, "other", &limit, T0 + 100).unwrap(), Ok(()));
    assert_eq!(take(&tx, "k", &limit, T0 + 600).unwrap(), Ok(()));
    let off = WindowLimit { max: 0, ..limit };
    for _ in 0..10 {
        assert_eq!(take(&tx, "k", &off, T0 + 601).unwrap(), Ok(()));
    }
}

#[test]
fn requesters_are_counted_by_address_and_ipv6_by_its_slash_64() {
    assert_eq!(requester("192.0.2.7"), "192.0.2.7");
    assert_eq!(requester("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
    assert_eq!(requester("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
    assert_eq!(requester("::ffff:192.0.2.7"), "192.0.2.7");
    assert_eq!(requester("unknown"), "unknown");
    assert_eq!(account_key(" A@X.test "), "login:a@x.test");
}
