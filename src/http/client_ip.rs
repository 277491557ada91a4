//! The client's address, the one every abuse limit and record uses: the TCP
//! peer, unless the peer is a reverse proxy named in `trusted_proxies`; then
//! the rightmost hop of `X-Forwarded-For` that no trusted proxy added
//! (each proxy appends the address it received the request from, so hops
//! left of an untrusted one are whatever the client chose to write).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::app::AppState;

/// The client's address as text; "unknown" when the server runs without
/// connect info (never a rejection).
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip());
        Ok(ClientIp(match peer {
            Some(peer) => {
                client_address(peer, &parts.headers, &app.config.server.trusted_proxies).to_string()
            }
            None => "unknown".into(),
        }))
    }
}

/// The address of the client behind `peer` (see the module header). A hop
/// that is not an address ends the walk at the trusted proxy that wrote it.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    if !is_trusted(&peer) {
        return peer;
    }
    // Every X-Forwarded-For line, in order, as one list (RFC 9110 §5.3).
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|hop| !hop.is_empty())
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip) => client = ip,
            Ok(ip) => return canonical(ip),
            Err(_) => return client,
        }
    }
    client
}

/// IPv4 addresses seen through an IPv6 socket (`::ffff:a.b.c.d`) as IPv4,
/// so that `127.0.0.1/32` matches them.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(peer: &str, xff: &[&str], trusted: &[&str]) -> String {
        let mut headers = HeaderMap::new();
        for line in xff {
            headers.append("x-forwarded-for", line.parse().unwrap());
        }
        let trusted: Vec<IpNet> = trusted.iter().map(|t| t.parse().unwrap()).collect();
        client_address(peer.parse().unwrap(), &headers, &trusted).to_string()
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let proxies = ["10.0.0.0/8", "127.0.0.1/32"];
        // Not from a trusted proxy: the header is the client's own words.
        assert_eq!(
            walk("198.51.100.9", &["203.0.113.7"], &proxies),
            "198.51.100.9"
        );
        assert_eq!(walk("127.0.0.1", &["203.0.113.7"], &[]), "127.0.0.1");
        // From a proxy: what it saw, not what the client wrote before it.
        assert_eq!(
            walk("127.0.0.1", &["1.2.3.4, 203.0.113.7"], &proxies),
            "203.0.113.7"
        );
        // Through two proxies, the header split over two lines.
        assert_eq!(
            walk("127.0.0.1", &["1.2.3.4, 203.0.113.7", "10.1.1.1"], &proxies),
            "203.0.113.7"
        );
        // No header, or garbage where the address should be.
        assert_eq!(walk("127.0.0.1", &[], &proxies), "127.0.0.1");
        assert_eq!(
            walk("127.0.0.1", &["not-an-ip, 10.1.1.1"], &proxies),
            "10.1.1.1"
        );
        // Only proxies in the chain: the leftmost one.
        assert_eq!(walk("127.0.0.1", &["10.2.2.2"], &proxies), "10.2.2.2");
        // IPv4 through an IPv6 socket.
        assert_eq!(
            walk("::ffff:127.0.0.1", &["203.0.113.7"], &proxies),
            "203.0.113.7"
        );
    }
}
