//! The baseline servers, each run as its own process (`plug-bench serve
//! KIND ENDPOINT`) so that every row of the table pays for the same
//! process boundary:
//!
//! - `zmq`: a blocking libzmq ROUTER that echoes, no plug code at all;
//! - `tcp`: a thread per connection echoing length-prefixed frames;
//! - `http`: hyper HTTP/1.1 keep-alive, parsing the JSON request and
//!   answering `{"id":…,"result":params}` like the rpc echo does;
//! - `plug-rpc`, `plug-raw`: the Rust echo-server (its library, on the same
//!   runtime its binary uses), on its default transport (native for
//!   `tcp://`); `plug-rpc-libzmq`, `plug-raw-libzmq`: the same on libzmq.
//!
//! Each prints `listening on ENDPOINT` once bound, like the templates.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use plug::transport::Transport;
use serde_json::{json, Value};

/// Runs server `kind` on `endpoint` until killed.
pub fn serve(kind: &str, endpoint: &str) -> anyhow::Result<()> {
    match kind {
        "zmq" => zmq_echo(endpoint),
        "tcp" => tcp_echo(endpoint),
        "http" => http_echo(endpoint),
        "plug-rpc" => plug_echo(endpoint, echo_server::Mode::Rpc, None),
        "plug-raw" => plug_echo(endpoint, echo_server::Mode::Raw, None),
        "plug-rpc-libzmq" => plug_echo(endpoint, echo_server::Mode::Rpc, Some(Transport::Libzmq)),
        "plug-raw-libzmq" => plug_echo(endpoint, echo_server::Mode::Raw, Some(Transport::Libzmq)),
        other => anyhow::bail!("unknown server kind {other}"),
    }
}

fn ready(endpoint: &str) {
    println!("listening on {endpoint}");
    let _ = std::io::stdout().flush();
}

fn zmq_echo(endpoint: &str) -> anyhow::Result<()> {
    let ctx = zmq::Context::new();
    let s = ctx.socket(zmq::ROUTER)?;
    s.set_sndhwm(0)?;
    s.set_rcvhwm(0)?;
    s.bind(endpoint)?;
    ready(endpoint);
    loop {
        // [identity, body...]: send every frame back as it came.
        let mut more = true;
        let mut parts = Vec::with_capacity(2);
        while more {
            parts.push(s.recv_msg(0)?);
            more = s.get_rcvmore()?;
        }
        let n = parts.len();
        for (i, m) in parts.into_iter().enumerate() {
            s.send(m, if i + 1 < n { zmq::SNDMORE } else { 0 })?;
        }
    }
}

/// `tcp://127.0.0.1:PORT` to `127.0.0.1:PORT`.
pub fn tcp_addr(endpoint: &str) -> &str {
    endpoint.strip_prefix("tcp://").unwrap_or(endpoint)
}

fn tcp_echo(endpoint: &str) -> anyhow::Result<()> {
    let listener = TcpListener::bind(tcp_addr(endpoint))?;
    ready(endpoint);
    for stream in listener.incoming() {
        let stream = stream?;
        std::thread::spawn(move || {
            let _ = tcp_echo_one(stream);
        });
    }
    Ok(())
}

fn tcp_echo_one(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = Vec::new();
    loop {
        let mut len = [0u8; 4];
        stream.read_exact(&mut len)?;
        let n = u32::from_le_bytes(len) as usize;
        buf.resize(n, 0);
        stream.read_exact(&mut buf)?;
        stream.write_all(&len)?;
        stream.write_all(&buf)?;
    }
}

fn http_echo(endpoint: &str) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(tcp_addr(endpoint)).await?;
        ready(endpoint);
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let service = hyper::service::service_fn(http_reply);
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(io, service)
                    .await;
            });
        }
    })
}

async fn http_reply(
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let body = req.into_body().collect().await?.to_bytes();
    let reply = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(mut m)) => {
            let id = m.remove("id").unwrap_or(Value::Null);
            let params = m.remove("params").unwrap_or(Value::Null);
            json!({"id": id, "result": params})
        }
        _ => json!({"id": null, "error": {"code": -32700, "message": "parse error"}}),
    };
    let bytes = serde_json::to_vec(&reply).expect("JSON serializes");
    Ok(Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(bytes)))
        .expect("a valid response"))
}

fn plug_echo(
    endpoint: &str,
    mode: echo_server::Mode,
    transport: Option<Transport>,
) -> anyhow::Result<()> {
    // As echo-server's main: the default multi-threaded runtime.
    let runtime = tokio::runtime::Runtime::new()?;
    let options = plug::server::SocketOptions {
        transport,
        ..Default::default()
    };
    runtime.block_on(async {
        let (socket, bound) =
            plug::server::bind_in(plug::socket::context(), endpoint, &options).context("bind")?;
        ready(&bound);
        echo_server::run(socket, mode, std::future::pending()).await?;
        anyhow::Ok(())
    })
}
