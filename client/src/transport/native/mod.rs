//! The pieces of the native transport that the plug's links and the
//! server's peers share: dialing and binding `tcp://` and `ipc://`
//! addresses, the ZMTP options each side uses, and the [`Outgoing`] queue
//! between the tasks that send and the task that owns a connection.

mod outgoing;
mod stream;

pub(crate) use outgoing::{Outgoing, Refused};
pub(crate) use stream::{dial, Listener, Stream};

/// Bytes a connection's writer may hold unsent before its task stops taking
/// more from its queue (and, on a server, stops reading requests from that
/// peer): past this the peer is not keeping up, and the pressure goes back
/// to whoever sends.
pub(crate) const WRITE_HIGH: usize = 4 << 20;
