//! `sesame clients check [FILE]`: validates a clients file — the instance's
//! own, or a candidate before it is deployed — exactly as a reload of the
//! running server would, and prints the clients as a table.

use std::path::Path;

use crate::config::ConsentMode;

use super::instance::Instance;

pub(super) fn run(file: Option<&Path>, config: Option<&Path>) -> Result<(), String> {
    let instance = Instance::open(config)?;
    let config = &instance.config;
    let source = file
        .or(config.clients_file.as_deref())
        .map_or_else(|| "(built-in demo)".into(), |p| p.display().to_string());
    let clients = match file {
        Some(file) => config.deployable_clients(file),
        None => config.reload_clients(),
    }
    .map_err(|e| e.to_string())?;
    println!("{source}: {} client(s) OK", clients.len());
    println!(
        "{:<20} {:<20} {:<20} {:<9} {:<45} SCOPES",
        "ID", "NAME", "AUTH", "CONSENT", "GRANTS"
    );
    for c in clients.iter() {
        let grants: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
        let consent = match c.consent {
            ConsentMode::Required => "required",
            ConsentMode::Implicit => "implicit",
        };
        println!(
            "{:<20} {:<20} {:<20} {:<9} {:<45} {}",
            c.id,
            c.name,
            c.auth_method.as_str(),
            consent,
            grants.join(","),
            c.scopes
        );
    }
    Ok(())
}
