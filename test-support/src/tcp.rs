//! The kernel's table of this machine's IPv4 TCP sockets
//! (`/proc/net/tcp`): evidence, for a test, that a library has really
//! opened or closed its side of a connection.

/// `ESTABLISHED` in the table's state column.
pub const ESTABLISHED: u8 = 0x01;
/// `CLOSE_WAIT`: the peer has closed, this side not yet.
pub const CLOSE_WAIT: u8 = 0x08;

/// One socket of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpSocket {
    pub local_port: u16,
    pub remote_port: u16,
    /// The kernel's state number, e.g. [`ESTABLISHED`].
    pub state: u8,
}

/// Every IPv4 TCP socket of this network namespace.
pub fn sockets() -> Vec<TcpSocket> {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    table.lines().skip(1).filter_map(parse_line).collect()
}

/// Whether some socket here still holds an open connection to `port`:
/// established, or closed by the peer but not yet by its owner.
pub fn open_to(port: u16) -> bool {
    sockets()
        .iter()
        .any(|s| s.remote_port == port && matches!(s.state, ESTABLISHED | CLOSE_WAIT))
}

/// `sl local_address rem_address st ...`, addresses as `HEXIP:HEXPORT`.
fn parse_line(line: &str) -> Option<TcpSocket> {
    let mut fields = line.split_whitespace().skip(1);
    let port = |addr: &str| u16::from_str_radix(addr.rsplit(':').next()?, 16).ok();
    Some(TcpSocket {
        local_port: port(fields.next()?)?,
        remote_port: port(fields.next()?)?,
        state: u8::from_str_radix(fields.next()?, 16).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_of_the_table() {
        let line = "   3: 0100007F:A1B2 0100007F:1F90 08 00000000:00000000 00:00000000 00000000  1000        0 12345 1 0000000000000000 20 4 30 10 -1";
        assert_eq!(
            parse_line(line),
            Some(TcpSocket {
                local_port: 0xA1B2,
                remote_port: 0x1F90,
                state: CLOSE_WAIT,
            })
        );
        assert_eq!(parse_line("garbage"), None);
    }
}
