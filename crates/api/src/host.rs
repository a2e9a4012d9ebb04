//! The `Host` check against DNS rebinding: a page on another site whose name is made to
//! resolve to 127.0.0.1 sends its own name as Host, and is refused. Also the `Origin` check
//! of WebSocket upgrades (browsers send cross-site WebSocket requests without asking).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::ApiState;
use crate::reply::Failure;

/// Which `Host` values name this server.
#[derive(Debug, Clone)]
pub struct HostPolicy {
    listen: SocketAddr,
    /// Extra names (`--allow-host`), lowercase, without port.
    names: Vec<String>,
}

impl HostPolicy {
    pub fn new(listen: SocketAddr, names: &[String]) -> HostPolicy {
        HostPolicy {
            listen,
            names: names.iter().map(|n| n.to_ascii_lowercase()).collect(),
        }
    }

    /// `host[:port]`, as in a Host header or an Origin's authority.
    pub fn allows(&self, authority: &str) -> bool {
        let Some((host, port)) = split_authority(authority) else {
            return false;
        };
        if port != self.listen.port() {
            return false;
        }
        let host = host.to_ascii_lowercase();
        if self.names.contains(&host) {
            return true;
        }
        let ip = self.listen.ip();
        match host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            // Any IP literal is safe from rebinding: only names can be rebound.
            Ok(given) => {
                ip.is_unspecified() || given == ip || (ip.is_loopback() && given.is_loopback())
            }
            Err(_) => host == "localhost" && ip.is_loopback(),
        }
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`; the port defaults to 80.
fn split_authority(authority: &str) -> Option<(&str, u16)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        match after.strip_prefix(':') {
            Some(p) => (v6, Some(p)),
            None if after.is_empty() => (v6, None),
            None => return None,
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => 80,
    };
    (!host.is_empty()).then_some((host, port))
}

pub async fn check_host(State(st): State<ApiState>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !st.hosts.allows(host) {
        return Failure::http(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "this server does not answer to the host {host:?}; use the address it listens on"
            ),
        )
        .into_response();
    }
    if let Some(origin) = req.headers().get(header::ORIGIN)
        && req.uri().path() == "/ws"
    {
        let authority = origin.to_str().ok().and_then(|o| {
            o.strip_prefix("http://")
                .or_else(|| o.strip_prefix("https://"))
        });
        if !authority.is_some_and(|a| st.hosts.allows(a)) {
            return Failure::http(
                StatusCode::FORBIDDEN,
                "forbidden",
                "WebSocket connections from other sites are refused",
            )
            .into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(listen: &str, names: &[&str]) -> HostPolicy {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        HostPolicy::new(listen.parse().unwrap(), &names)
    }

    #[test]
    fn loopback_answers_to_its_own_names_only() {
        let p = policy("127.0.0.1:6806", &[]);
        for ok in [
            "127.0.0.1:6806",
            "localhost:6806",
            "LOCALHOST:6806",
            "[::1]:6806",
        ] {
            assert!(p.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example:6806",
            "127.0.0.1:80",
            "127.0.0.1",
            "localhost",
            "10.0.0.1:6806",
            "",
            ":6806",
            "127.0.0.1:x",
            "[::1:6806",
        ] {
            assert!(!p.allows(bad), "{bad}");
        }
    }

    #[test]
    fn other_addresses_take_ip_literals_and_named_hosts() {
        let p = policy("0.0.0.0:8080", &["NAS.local"]);
        assert!(p.allows("192.168.1.5:8080"));
        assert!(p.allows("nas.local:8080"));
        assert!(!p.allows("attacker.example:8080"));
        let p = policy("192.168.1.5:80", &[]);
        assert!(p.allows("192.168.1.5"));
        assert!(!p.allows("192.168.1.6"));
    }
}
