//! Endpoints as `check` accepts them, refused with a reason before anything
//! starts: `tcp://HOST:PORT` (IPv4, `[IPv6]` or a host name, a port from 1
//! to 65535) and `ipc://PATH`.

/// Checks an endpoint the harness is to connect to.
pub fn check(endpoint: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("invalid endpoint `{endpoint}`: {why}"));
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        return bad("expected tcp://HOST:PORT or ipc://PATH");
    };
    match scheme {
        "tcp" => {
            // libzmq's `tcp://SOURCE;HOST:PORT` form picks a local address.
            let target = rest.rsplit_once(';').map_or(rest, |(_, t)| t);
            let Some((host, port)) = target.rsplit_once(':') else {
                return bad("no port (expected tcp://HOST:PORT)");
            };
            if port == "*" || port.is_empty() {
                return bad("a port from 1 to 65535 is needed to connect");
            }
            match port.parse::<u32>() {
                Ok(1..=65535) => {}
                Ok(p) => return bad(&format!("port {p} is out of range (1-65535)")),
                Err(_) => return bad(&format!("port `{port}` is not a number")),
            }
            if host.is_empty() || host == "*" {
                return bad("no host (expected tcp://HOST:PORT)");
            }
            if let Some(v6) = host.strip_prefix('[') {
                return match v6.strip_suffix(']').map(str::parse::<std::net::Ipv6Addr>) {
                    Some(Ok(_)) => Ok(()),
                    _ => bad(&format!("`{host}` is not an IPv6 address")),
                };
            }
            if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                return match host.parse::<std::net::Ipv4Addr>() {
                    Ok(_) => Ok(()),
                    Err(_) => bad(&format!("`{host}` is not an IPv4 address")),
                };
            }
            let name_ok = host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
            });
            if !name_ok {
                return bad(&format!("`{host}` is not a host name"));
            }
            Ok(())
        }
        "ipc" if !rest.is_empty() => Ok(()),
        "ipc" => bad("no path (expected ipc://PATH)"),
        "inproc" => bad("inproc:// reaches only sockets inside this process"),
        other => bad(&format!(
            "the transport `{other}` is not supported (tcp:// or ipc://)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn endpoints() {
        for ok in [
            "tcp://127.0.0.1:5555",
            "tcp://localhost:1",
            "tcp://[::1]:65535",
            "tcp://rpc.example.com:9000",
            "tcp://127.0.0.1;127.0.0.1:5555",
            "ipc:///tmp/x.sock",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("tcp://nonsense", "no port"),
            ("tcp://127.0.0.1:99999", "port 99999 is out of range"),
            ("tcp://127.0.0.1:0", "port 0 is out of range"),
            ("tcp://127.0.0.1:*", "a port from 1 to 65535"),
            ("tcp://256.1.1.1:1", "not an IPv4 address"),
            ("tcp://[zz]:1", "not an IPv6 address"),
            ("tcp://a_b:1", "not a host name"),
            ("127.0.0.1:5555", "expected tcp://"),
            ("ipc://", "no path"),
            ("inproc://x", "inside this process"),
            ("udp://x:1", "not supported"),
        ] {
            let e = check(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
            assert!(e.starts_with(&format!("invalid endpoint `{bad}`")), "{e}");
        }
    }
}
