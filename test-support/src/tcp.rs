//! The kernel's view of this machine's TCP sockets: evidence, for a test,
//! that a library has really closed its side of a connection
//! (`/proc/net/tcp`), or that a server's replies have reached its clients
//! (`ss -ti`, from iproute2).

use std::process::Command;
use std::time::{Duration, Instant};

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

/// How long [`wait_for_bytes_acked`] waits.
pub const TCP_DEADLINE: Duration = Duration::from_secs(20);

/// Bytes sent from local port `port` and acknowledged by the peers, summed
/// over its established connections (`bytes_acked` of `ss -ti`): what a
/// server listening there has delivered to its clients' kernels.
pub fn bytes_acked_from(port: u16) -> u64 {
    let out = Command::new("ss")
        .args(["-tinH", "state", "established"])
        .arg(format!("( sport = :{port} )"))
        .output()
        .expect("ss runs (iproute2)");
    assert!(
        out.status.success(),
        "ss: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    sum_bytes_acked(&String::from_utf8_lossy(&out.stdout))
}

/// Waits until the server on `port` has delivered more than `bytes`,
/// failing the test after [`TCP_DEADLINE`].
pub fn wait_for_bytes_acked(port: u16, bytes: u64) {
    let started = Instant::now();
    while bytes_acked_from(port) <= bytes {
        assert!(
            started.elapsed() < TCP_DEADLINE,
            "port {port} delivered {} bytes, not more than {bytes}",
            bytes_acked_from(port)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn sum_bytes_acked(ss: &str) -> u64 {
    ss.split_whitespace()
        .filter_map(|field| field.strip_prefix("bytes_acked:"))
        .filter_map(|n| n.parse::<u64>().ok())
        .sum()
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

    #[test]
    fn bytes_acked_of_every_connection() {
        let ss = "0 0 127.0.0.1:40587 127.0.0.1:41814\n\t bbr rto:208 bytes_sent:168 bytes_acked:168 bytes_received:255\n\
                  0 0 127.0.0.1:40587 127.0.0.1:41816\n\t bbr bytes_acked:1000 segs_out:6\n";
        assert_eq!(sum_bytes_acked(ss), 1168);
        assert_eq!(sum_bytes_acked(""), 0);
    }
}
