//! `sesame audit [--email E] [--client ID] [--since 1h|2d|RFC3339] [--json]`:
//! the help desk's answer to « qui s'est connecté à mon compte ? ». Prints
//! the events oldest first, as a table or as JSON lines for a log shipper.

use std::collections::HashMap;
use std::path::Path;

use crate::accounts::audit::{Event, Filter};
use crate::{app, store};

use super::instance::Instance;
use super::time_text;

pub(super) struct Query<'a> {
    pub email: Option<&'a str>,
    pub client: Option<&'a str>,
    pub since: Option<&'a str>,
    pub json: bool,
}

pub(super) fn run(config: Option<&Path>, query: &Query<'_>) -> Result<(), String> {
    let instance = Instance::open(config)?;
    instance.require_existing()?;
    let since = query
        .since
        .map(|s| parse_since(s, app::now()))
        .transpose()?;
    let db = store::open_for_cli(&instance.config.database).map_err(|e| e.to_string())?;
    let tx = db.tx();
    let sub = match query.email {
        Some(email) => Some(
            store::users::by_email(&tx, email)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no account with {email}"))?
                .sub,
        ),
        None => None,
    };
    let filter = Filter {
        sub,
        client_id: query.client.map(str::to_owned),
        since,
        limit: None,
    };
    let mut events = store::audit::list(&tx, &filter).map_err(|e| e.to_string())?;
    events.reverse();
    // Events name the citizen by `sub`; the help desk reads addresses.
    let mut emails: HashMap<String, String> = HashMap::new();
    for sub in events.iter().filter_map(|e| e.sub.as_deref()) {
        if !emails.contains_key(sub)
            && let Some(user) = store::users::by_sub(&tx, sub).map_err(|e| e.to_string())?
        {
            emails.insert(sub.to_owned(), user.email);
        }
    }
    if query.json {
        for event in &events {
            println!("{}", json_line(event, &emails));
        }
    } else {
        print_table(&events, &emails);
    }
    Ok(())
}

fn json_line(event: &Event, emails: &HashMap<String, String>) -> serde_json::Value {
    let email = event.sub.as_ref().and_then(|s| emails.get(s));
    serde_json::json!({
        "time": time_text(event.at),
        "at": event.at,
        "kind": event.kind,
        "sub": event.sub,
        "email": email,
        "client_id": event.client_id,
        "address": event.address,
        "user_agent": event.user_agent,
        "detail": event.detail,
    })
}

fn print_table(events: &[Event], emails: &HashMap<String, String>) {
    println!(
        "{:<20} {:<24} {:<32} {:<16} {:<16} DETAIL",
        "TIME (UTC)", "EVENT", "CITIZEN", "CLIENT", "ADDRESS"
    );
    for e in events {
        let citizen = e
            .sub
            .as_ref()
            .map(|s| emails.get(s).cloned().unwrap_or_else(|| s.clone()))
            .unwrap_or_else(|| "-".into());
        let detail = [e.detail.as_deref(), e.user_agent.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · ");
        println!(
            "{:<20} {:<24} {:<32} {:<16} {:<16} {}",
            time_text(e.at),
            e.kind,
            citizen,
            e.client_id.as_deref().unwrap_or("-"),
            e.address.as_deref().unwrap_or("-"),
            detail
        );
    }
    println!("{} event(s)", events.len());
}

/// `90s`, `30m`, `1h`, `2d`, `1w` before `now`, or an RFC 3339 time.
fn parse_since(text: &str, now: i64) -> Result<i64, String> {
    let unit = |c: char| match c {
        's' => Some(1),
        'm' => Some(60),
        'h' => Some(3600),
        'd' => Some(86_400),
        'w' => Some(7 * 86_400),
        _ => None,
    };
    if let Some(last) = text.chars().last()
        && let Some(seconds) = unit(last)
        && let Ok(n) = text[..text.len() - 1].parse::<i64>()
    {
        return Ok(now - n.saturating_mul(seconds));
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| {
            format!("--since: `{text}` is neither a duration (1h, 2d) nor an RFC 3339 time")
        })
}

#[cfg(test)]
mod tests {
    use super::parse_since;

    #[test]
    fn durations_and_times() {
        assert_eq!(parse_since("1h", 10_000), Ok(6_400));
        assert_eq!(parse_since("2d", 200_000), Ok(200_000 - 172_800));
        assert_eq!(parse_since("1970-01-01T00:01:00Z", 0), Ok(60));
        assert!(parse_since("yesterday", 0).is_err());
        assert!(parse_since("h", 0).is_err());
    }
}
