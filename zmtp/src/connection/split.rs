//! Streams that split into owned read and write halves.

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{tcp, unix, TcpStream, UnixStream};

/// A stream with owned halves, so that reading and writing need no lock.
pub trait IntoSplit {
    type Read: AsyncRead + Unpin;
    type Write: AsyncWrite + Unpin;
    fn into_split(self) -> (Self::Read, Self::Write);
}

impl IntoSplit for TcpStream {
    type Read = tcp::OwnedReadHalf;
    type Write = tcp::OwnedWriteHalf;
    fn into_split(self) -> (Self::Read, Self::Write) {
        TcpStream::into_split(self)
    }
}

impl IntoSplit for UnixStream {
    type Read = unix::OwnedReadHalf;
    type Write = unix::OwnedWriteHalf;
    fn into_split(self) -> (Self::Read, Self::Write) {
        UnixStream::into_split(self)
    }
}
