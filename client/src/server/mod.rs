//! The server side of the protocol: a ROUTER serving loop for external
//! servers written in Rust.
