"use strict";
// An external server for plug, in Node.js with zeromq.js 6.
//
// Two rules make a plug server (see PROTOCOL.md):
//   1. Bind a ROUTER socket and reply with the envelope each message arrived with.
//   2. In rpc mode, pass the request's `id` back unchanged.
//
// Usage: node server.js ENDPOINT [rpc|raw]

const { Router } = require("zeromq");
// JSON.parse turns 18446744073709551615 into 18446744073709552000; lossless-json
// keeps every number as the text it arrived with, so ids go back unchanged.
const { parse, stringify, isLosslessNumber } = require("lossless-json");

const MAX_BODY = 16 << 20; // larger rpc bodies get -32001 (PROTOCOL.md 8.1)
const MAX_DEFERRED = 1024; // sleeping requests per peer before -32002 (8.2)
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

class RpcError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

const methods = new Map([
  ["ping", () => "pong"],
  ["echo", (params) => params ?? null],
  [
    // An example of checking params: bad or missing ones get -32602.
    "greet",
    (params) => {
      if (typeof params?.name !== "string") {
        throw new RpcError(-32602, 'greet takes {"name": a string}');
      }
      return `hello, ${params.name}`;
    },
  ],
  [
    "sleep",
    (params) => {
      const ms = params?.ms;
      const n =
        isLosslessNumber(ms) && /^\d+$/.test(ms.value) ? Number(ms.value) : -1;
      if (n < 0 || n > 60000) {
        throw new RpcError(
          -32602,
          'params must be {"ms": n} with n from 0 to 60000',
        );
      }
      return { ms: n };
    },
  ],
]);

function encode(request, reply) {
  if (Object.hasOwn(request, "jsonrpc"))
    reply = { jsonrpc: request.jsonrpc, ...reply };
  try {
    return stringify(reply);
  } catch (err) {
    const error = {
      code: -32603,
      message: `cannot encode reply: ${err.message}`,
    };
    return stringify({ id: reply.id, error });
  }
}

function errorReply(request, id, code, message) {
  return encode(request, { id, error: { code, message } });
}

// Returns { reply, delay } for one request; reply is undefined for a notification.
function handle(body, busy) {
  if (body.length !== 1)
    return { reply: errorReply({}, null, -32600, "body must be one frame") };
  if (body[0].length > MAX_BODY)
    return { reply: errorReply({}, null, -32001, "message too large") };
  let request;
  try {
    request = parse(utf8.decode(body[0]));
  } catch (err) {
    return {
      reply: errorReply({}, null, -32700, `parse error: ${err.message}`),
    };
  }
  const isObject =
    typeof request === "object" && request !== null && !Array.isArray(request);
  if (!isObject || isLosslessNumber(request)) {
    return {
      reply: errorReply({}, null, -32600, "request must be a JSON object"),
    };
  }
  if (!Object.hasOwn(request, "id")) return {}; // a notification: never answered

  // Rule 2: the id goes back as it came, whatever JSON type it has.
  const id = request.id;
  if (
    typeof id === "boolean" ||
    (typeof id === "object" && id !== null && !isLosslessNumber(id))
  ) {
    return {
      reply: errorReply(request, null, -32600, "id must be a number or string"),
    };
  }
  const { method, params } = request;
  if (typeof method !== "string") {
    return {
      reply: errorReply(request, id, -32600, "method must be a string"),
    };
  }
  if (!methods.has(method)) {
    return {
      reply: errorReply(request, id, -32601, `method not found: ${method}`),
    };
  }
  if (method === "sleep" && busy) {
    return {
      reply: errorReply(request, id, -32002, "too many requests in flight"),
    };
  }
  try {
    const result = methods.get(method)(params);
    const delay = method === "sleep" ? result.ms : 0;
    return { reply: encode(request, { id, result }), delay };
  } catch (err) {
    const code = err instanceof RpcError ? err.code : -32603;
    return { reply: errorReply(request, id, code, err.message) };
  }
}

// [identity, body...] or [identity, "", body...]: returns [envelope, body frames].
function splitEnvelope(frames) {
  const delimited = frames.length > 2 && frames[1].length === 0;
  return delimited
    ? [frames.slice(0, 2), frames.slice(2)]
    : [frames.slice(0, 1), frames.slice(1)];
}

// With `mandatory` set and sendTimeout 0, send() never waits: a full or
// vanished peer makes it fail instead of silently swallowing the reply.
// Drop that one reply with a log line and carry on.
function send(sock, frames) {
  sock.send(frames).catch((err) => {
    console.error(
      `dropped a reply to ${frames[0].toString("hex")}: ${err.message}`,
    );
  });
}

async function serve(sock, mode) {
  const sleeping = new Map(); // deferred replies per peer identity
  for await (const frames of sock) {
    if (mode === "raw") {
      send(sock, frames); // Rule 1: identity (and delimiter) go back too
      continue;
    }
    const [envelope, body] = splitEnvelope(frames);
    const peer = envelope[0].toString("hex");
    const { reply, delay } = handle(
      body,
      (sleeping.get(peer) ?? 0) >= MAX_DEFERRED,
    );
    if (reply === undefined) continue;
    if (!delay) {
      send(sock, [...envelope, reply]); // Rule 1: the same envelope
      continue;
    }
    // A deferred reply is a timer, so a sleeping request holds up nothing.
    sleeping.set(peer, (sleeping.get(peer) ?? 0) + 1);
    setTimeout(() => {
      const left = sleeping.get(peer) - 1;
      left > 0 ? sleeping.set(peer, left) : sleeping.delete(peer);
      send(sock, [...envelope, reply]);
    }, delay);
  }
}

async function main() {
  const [endpoint, mode = "rpc", ...extra] = process.argv.slice(2);
  if (!endpoint || !["rpc", "raw"].includes(mode) || extra.length > 0) {
    console.error("usage: run ENDPOINT [rpc|raw]");
    process.exit(2);
  }
  const sock = new Router({
    mandatory: true,
    sendTimeout: 0,
    sendHighWaterMark: 100000, // the default 1000 is too few for a
    receiveHighWaterMark: 100000, // plug that pipelines thousands
    linger: 0,
  });
  // Rule 1: the server binds, plugs connect.
  await sock.bind(endpoint).catch((err) => {
    console.error(`cannot bind ${endpoint}: ${err.message}`);
    process.exit(1);
  });
  process.stdout.write(`listening on ${sock.lastEndpoint}\n`);
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      sock.close();
      process.exit(0);
    });
  }
  await serve(sock, mode);
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
