"""An external server for plug, in Python with pyzmq.

Two rules make a plug server (see PROTOCOL.md):

1. Bind a ROUTER socket and reply with the envelope each message arrived with.
2. In rpc mode, pass the request's ``id`` back unchanged.

Usage: python3 server.py ENDPOINT [rpc|raw]
"""

import heapq
import itertools
import json
import os
import signal
import sys
import time
from collections import Counter

import zmq

MAX_BODY = 16 << 20  # larger rpc bodies get -32001 (PROTOCOL.md 8.1)
MAX_DEFERRED = 1024  # sleeping requests per peer before -32002 (8.2)


class RpcError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def ping(params):
    return "pong"


def echo(params):
    return params


def sleep(params):
    """The reply is sent after params["ms"] milliseconds (see serve)."""
    ms = params.get("ms") if isinstance(params, dict) else None
    if type(ms) is not int or not 0 <= ms <= 60000:
        raise RpcError(-32602, 'params must be {"ms": n} with n from 0 to 60000')
    return {"ms": ms}


def greet(params):
    """An example of checking params: bad or missing ones get -32602."""
    name = params.get("name") if isinstance(params, dict) else None
    if not isinstance(name, str):
        raise RpcError(-32602, 'greet takes {"name": a string}')
    return f"hello, {name}"


METHODS = {"ping": ping, "echo": echo, "sleep": sleep, "greet": greet}


class Fraction(float):
    """A JSON number with a fraction or exponent that remembers its text, so
    an id like 1.50 goes back as 1.50, not 1.5 (see id_json)."""

    def __new__(cls, text):
        value = super().__new__(cls, text)
        value.text = text
        return value


def parse_float(text):
    # Python keeps integers of any size exactly, but 1e400 would become inf,
    # which json.dumps cannot write back as JSON.
    value = Fraction(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("number out of range")
    return value


def id_json(id_):
    # json.dumps writes every float by its value; an id goes back as written.
    return id_.text if isinstance(id_, Fraction) else json.dumps(id_)


def reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def handle(body, busy):
    """Returns (reply body or None, delay in seconds) for one request."""
    if len(body) != 1:
        return error_reply({}, None, -32600, "body must be one frame"), 0
    if len(body[0]) > MAX_BODY:
        return error_reply({}, None, -32001, "message too large"), 0
    try:
        request = json.loads(
            body[0].decode("utf-8"),
            parse_float=parse_float,
            parse_constant=reject_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        return error_reply({}, None, -32700, f"parse error: {e}"), 0
    if not isinstance(request, dict):
        return error_reply({}, None, -32600, "request must be a JSON object"), 0
    if "id" not in request:
        return None, 0  # a notification: never answered, not even on error

    # Rule 2: the id goes back as it came, whatever JSON type it has.
    id_ = request["id"]
    if isinstance(id_, (dict, list, bool)):
        return error_reply(request, None, -32600, "id must be a number or string"), 0
    method = request.get("method")
    if not isinstance(method, str):
        return error_reply(request, id_, -32600, "method must be a string"), 0
    if method not in METHODS:
        return error_reply(request, id_, -32601, f"method not found: {method}"), 0
    if method == "sleep" and busy:
        return error_reply(request, id_, -32002, "too many requests in flight"), 0
    try:
        result = METHODS[method](request.get("params"))
    except RpcError as e:
        return error_reply(request, id_, e.code, e.message), 0
    except Exception as e:  # a bug in a handler must not stop the server
        return error_reply(request, id_, -32603, f"internal error: {e}"), 0
    delay = result["ms"] / 1000 if method == "sleep" else 0
    return encode(request, {"id": id_, "result": result}), delay


def error_reply(request, id_, code, message):
    return encode(request, {"id": id_, "error": {"code": code, "message": message}})


def encode(request, reply):
    """The reply object as bytes: {"jsonrpc"?, "id", "result" or "error"}."""
    head = ""
    if "jsonrpc" in request:
        head = '"jsonrpc": ' + json.dumps(request["jsonrpc"]) + ", "
    head += '"id": ' + id_json(reply.pop("id"))
    try:
        rest = json.dumps(reply, allow_nan=False)
    except (ValueError, RecursionError) as e:
        error = {"code": -32603, "message": f"cannot encode reply: {e}"}
        rest = json.dumps({"error": error})
    # rest is a JSON object: splice the head in after its opening brace.
    return ("{" + head + ", " + rest[1:]).encode()


def split_envelope(frames):
    """[identity, body...] or [identity, "", body...]: (envelope, body frames)."""
    if len(frames) > 2 and frames[1] == b"":
        return frames[:2], frames[2:]
    return frames[:1], frames[1:]


def send(sock, frames):
    # With ROUTER_MANDATORY a full or vanished peer raises instead of
    # silently swallowing the reply; drop that one reply and carry on.
    try:
        sock.send_multipart(frames, flags=zmq.NOBLOCK)
    except zmq.ZMQError as e:
        print(f"dropped a reply to {frames[0].hex()}: {e}", file=sys.stderr)


def serve(sock, mode):
    deferred = []  # heap of (due time, sequence, envelope, reply body)
    sleeping = Counter()  # deferred replies per peer identity
    sequence = itertools.count()
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    # A signal that lands while libzmq is not inside poll() must still wake it
    # up: Python writes a byte to this pipe for every signal it catches.
    wakeup, wakeup_writer = os.pipe()
    os.set_blocking(wakeup_writer, False)
    signal.set_wakeup_fd(wakeup_writer)
    poller.register(wakeup, zmq.POLLIN)
    while True:
        timeout = None
        if deferred:
            timeout = max(0, (deferred[0][0] - time.monotonic()) * 1000)
        if sock in dict(poller.poll(timeout)):
            frames = sock.recv_multipart()
            if mode == "raw":
                send(sock, frames)  # Rule 1: identity (and delimiter) go back too
            else:
                envelope, body = split_envelope(frames)
                busy = sleeping[envelope[0]] >= MAX_DEFERRED
                reply, delay = handle(body, busy)
                if reply is not None and delay == 0:
                    send(sock, envelope + [reply])  # Rule 1: the same envelope
                elif reply is not None:
                    due = time.monotonic() + delay
                    heapq.heappush(deferred, (due, next(sequence), envelope, reply))
                    sleeping[envelope[0]] += 1
        while deferred and deferred[0][0] <= time.monotonic():
            _, _, envelope, reply = heapq.heappop(deferred)
            sleeping[envelope[0]] -= 1
            if not sleeping[envelope[0]]:
                del sleeping[envelope[0]]
            send(sock, envelope + [reply])


class AllowList:
    """CURVE clients admitted by the ZAP handler: their Z85 public keys."""

    def __init__(self, keys):
        self.keys = keys

    def callback(self, domain, key):
        return key in self.keys


def main():
    if len(sys.argv) not in (2, 3) or sys.argv[2:] not in ([], ["rpc"], ["raw"]):
        print("usage: run ENDPOINT [rpc|raw]", file=sys.stderr)
        sys.exit(2)
    endpoint, mode = sys.argv[1], (sys.argv[2:] or ["rpc"])[0]
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: sys.exit(0))

    context = zmq.Context()
    sock = context.socket(zmq.ROUTER)
    sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
    sock.setsockopt(zmq.SNDHWM, 100_000)  # the default 1000 is too few for a
    sock.setsockopt(zmq.RCVHWM, 100_000)  # plug that pipelines thousands
    sock.setsockopt(zmq.LINGER, 0)
    # Optional CURVE (README "Secure plugs"): PLUG_CURVE_SECRET_KEY is this
    # server's secret key, PLUG_CURVE_ALLOW the client public keys it admits
    # (Z85, space-separated); the authenticator thread is the ZAP handler.
    if os.environ.get("PLUG_CURVE_SECRET_KEY"):
        from zmq.auth.thread import ThreadAuthenticator

        allowed = set(os.environ.get("PLUG_CURVE_ALLOW", "").encode().split())
        auth = ThreadAuthenticator(context)
        auth.start()
        auth.configure_curve_callback("*", credentials_provider=AllowList(allowed))
        sock.curve_secretkey = os.environ["PLUG_CURVE_SECRET_KEY"].encode()
        sock.curve_server = True
    try:
        sock.bind(endpoint)  # Rule 1: the server binds, plugs connect
    except zmq.ZMQError as e:  # one line, e.g. "Address already in use"
        print(f"cannot bind {endpoint}: {zmq.strerror(e.errno)}", file=sys.stderr)
        sys.exit(1)
    print(f"listening on {sock.getsockopt_string(zmq.LAST_ENDPOINT)}", flush=True)
    try:
        serve(sock, mode)
    finally:
        sock.close()
        context.term()


if __name__ == "__main__":
    main()
