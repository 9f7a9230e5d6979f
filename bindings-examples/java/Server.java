import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import org.zeromq.ZMQ;
import org.zeromq.ZMQException;

/**
 * An external server for plug, in Java with JeroMQ and Jackson.
 *
 * <p>Two rules make a plug server (see PROTOCOL.md):
 *
 * <ol>
 *   <li>Bind a ROUTER socket and reply with the envelope each message arrived with.
 *   <li>In rpc mode, pass the request's {@code id} back unchanged.
 * </ol>
 *
 * <p>Usage: {@code java Server ENDPOINT [rpc|raw]}
 */
public final class Server {
  private static final int MAX_BODY = 16 << 20; // larger rpc bodies get -32001 (PROTOCOL.md 8.1)
  private static final int MAX_DEFERRED = 1024; // sleeping requests per peer before -32002 (8.2)

  // Jackson keeps integers of any size exactly (int, long or BigInteger nodes), so the id can go
  // straight back; exact BigDecimals keep fractions such as 1.50 as they came too.
  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
          .nodeFactory(JsonNodeFactory.withExactBigDecimals(true))
          .build();

  private static volatile boolean running = true;

  /** The reply to one request (null for a notification) and how long it must wait. */
  private record Answer(byte[] reply, long delayMs) {}

  /** A reply that waits in the queue until it is due (the sleep method). */
  private record Deferred(long due, List<byte[]> envelope, byte[] reply) {}

  /** An error that becomes an error reply. */
  private static final class RpcException extends Exception {
    final int code;

    RpcException(int code, String message) {
      super(message);
      this.code = code;
    }
  }

  private static JsonNode call(String method, JsonNode params) throws RpcException {
    switch (method) {
      case "ping":
        return TextNode.valueOf("pong");
      case "echo":
        return params == null ? NullNode.getInstance() : params;
      case "greet": // an example of checking params: bad or missing ones get -32602
        JsonNode name = params != null && params.isObject() ? params.get("name") : null;
        if (name == null || !name.isTextual()) {
          throw new RpcException(-32602, "greet takes {\"name\": a string}");
        }
        return TextNode.valueOf("hello, " + name.textValue());
      case "sleep":
        JsonNode ms = params != null && params.isObject() ? params.get("ms") : null;
        if (ms == null
            || !ms.isIntegralNumber()
            || !ms.canConvertToInt()
            || ms.intValue() < 0
            || ms.intValue() > 60000) {
          throw new RpcException(-32602, "params must be {\"ms\": n} with n from 0 to 60000");
        }
        return JSON.createObjectNode().put("ms", ms.intValue());
      default:
        throw new RpcException(-32601, "method not found: " + method);
    }
  }

  static Answer handle(List<byte[]> body, boolean busy) {
    if (body.size() != 1) {
      return error(null, null, -32600, "body must be one frame");
    }
    if (body.get(0).length > MAX_BODY) {
      return error(null, null, -32001, "message too large");
    }
    JsonNode request;
    try {
      var utf8 = StandardCharsets.UTF_8.newDecoder(); // strict: bad UTF-8 throws
      request = JSON.readTree(utf8.decode(ByteBuffer.wrap(body.get(0))).toString());
    } catch (CharacterCodingException | JsonProcessingException | RuntimeException e) {
      return error(null, null, -32700, "parse error");
    } catch (StackOverflowError e) {
      return error(null, null, -32700, "parse error: nested too deeply");
    }
    if (request == null || request.isMissingNode()) {
      return error(null, null, -32700, "parse error: empty body");
    }
    if (!request.isObject()) {
      return error(null, null, -32600, "request must be a JSON object");
    }
    if (!request.has("id")) {
      return new Answer(null, 0); // a notification: never answered, not even on error
    }

    // Rule 2: the id goes back as it came, whatever JSON type it has.
    JsonNode id = request.get("id");
    if (id.isContainerNode() || id.isBoolean()) {
      return error(request, null, -32600, "id must be a number or string");
    }
    if (id.isDouble()) { // only 1e400 and the like: every other fraction is a BigDecimal
      return error(request, null, -32700, "parse error: id out of range");
    }
    JsonNode method = request.get("method");
    if (method == null || !method.isTextual()) {
      return error(request, id, -32600, "method must be a string");
    }
    if (busy && method.textValue().equals("sleep")) {
      return error(request, id, -32002, "too many requests in flight");
    }
    try {
      JsonNode result = call(method.textValue(), request.get("params"));
      long delay = method.textValue().equals("sleep") ? result.get("ms").longValue() : 0;
      return new Answer(encode(request, id, "result", result), delay);
    } catch (RpcException e) {
      return error(request, id, e.code, e.getMessage());
    } catch (RuntimeException e) { // a bug in a method must not stop the server
      return error(request, id, -32603, "internal error: " + e);
    }
  }

  private static Answer error(JsonNode request, JsonNode id, int code, String message) {
    ObjectNode error = JSON.createObjectNode().put("code", code).put("message", message);
    return new Answer(encode(request, id, "error", error), 0);
  }

  private static byte[] encode(JsonNode request, JsonNode id, String kind, JsonNode value) {
    ObjectNode reply = JSON.createObjectNode();
    if (request != null && request.has("jsonrpc")) {
      reply.set("jsonrpc", request.get("jsonrpc"));
    }
    reply.set("id", id == null ? NullNode.getInstance() : id);
    reply.set(kind, value);
    try {
      return JSON.writeValueAsBytes(reply);
    } catch (JsonProcessingException | StackOverflowError e) {
      reply.remove(kind);
      reply.set("error", JSON.createObjectNode().put("code", -32603).put("message", "" + e));
      return reply.toString().getBytes(StandardCharsets.UTF_8);
    }
  }

  /**
   * Sends one message without blocking. With ROUTER_MANDATORY a full or vanished peer makes the
   * send fail instead of silently swallowing the reply: drop that one reply and carry on.
   */
  private static void send(ZMQ.Socket socket, List<byte[]> frames) {
    try {
      for (int i = 0; i < frames.size(); i++) {
        int flags = ZMQ.DONTWAIT | (i + 1 < frames.size() ? ZMQ.SNDMORE : 0);
        if (!socket.send(frames.get(i), flags)) {
          System.err.println("dropped a reply: the peer's queue is full");
          return;
        }
      }
    } catch (ZMQException e) {
      System.err.println("dropped a reply: peer unreachable (" + e.getErrorCode() + ")");
    }
  }

  private static List<byte[]> append(List<byte[]> envelope, byte[] body) {
    List<byte[]> frames = new ArrayList<>(envelope);
    frames.add(body);
    return frames;
  }

  private static long nowMs() {
    return System.nanoTime() / 1_000_000;
  }

  private static void serve(ZMQ.Socket socket, boolean raw) {
    var deferred = new PriorityQueue<Deferred>(Comparator.comparingLong(Deferred::due));
    Map<String, Integer> sleeping = new HashMap<>(); // deferred replies per peer identity
    ZMQ.Poller poller = new ZMQ.Poller(1);
    poller.register(socket, ZMQ.Poller.POLLIN);
    while (running) {
      long timeout = 100; // wake up now and then to notice a shutdown
      if (!deferred.isEmpty()) {
        timeout = Math.max(0, Math.min(timeout, deferred.peek().due() - nowMs()));
      }
      if (poller.poll(timeout) > 0 && poller.pollin(0)) {
        List<byte[]> frames = new ArrayList<>();
        do {
          frames.add(socket.recv(0));
        } while (socket.hasReceiveMore());
        if (raw) {
          send(socket, frames); // Rule 1: identity (and delimiter) go back too
        } else {
          // [identity, body...] or [identity, "", body...] (PROTOCOL.md 3.4)
          int bodyStart = frames.size() > 2 && frames.get(1).length == 0 ? 2 : 1;
          List<byte[]> envelope = frames.subList(0, bodyStart);
          String peer = Arrays.toString(envelope.get(0));
          boolean busy = sleeping.getOrDefault(peer, 0) >= MAX_DEFERRED;
          Answer answer = handle(frames.subList(bodyStart, frames.size()), busy);
          if (answer.reply() != null && answer.delayMs() == 0) {
            send(socket, append(envelope, answer.reply())); // Rule 1: the same envelope
          } else if (answer.reply() != null) {
            long due = nowMs() + answer.delayMs();
            deferred.add(new Deferred(due, List.copyOf(envelope), answer.reply()));
            sleeping.merge(peer, 1, Integer::sum);
          }
        }
      }
      while (!deferred.isEmpty() && deferred.peek().due() <= nowMs()) {
        Deferred d = deferred.poll();
        String peer = Arrays.toString(d.envelope().get(0));
        sleeping.computeIfPresent(peer, (key, n) -> n > 1 ? n - 1 : null);
        send(socket, append(d.envelope(), d.reply()));
      }
    }
  }

  public static void main(String[] args) {
    String mode = args.length > 1 ? args[1] : "rpc";
    if (args.length < 1 || args.length > 2 || !(mode.equals("rpc") || mode.equals("raw"))) {
      System.err.println("usage: run ENDPOINT [rpc|raw]");
      System.exit(2);
    }
    ZMQ.Context context = ZMQ.context(1);
    ZMQ.Socket socket = context.socket(ZMQ.ROUTER);
    socket.setRouterMandatory(true);
    socket.setSndHWM(100_000); // the default 1000 is too few for a
    socket.setRcvHWM(100_000); // plug that pipelines thousands
    socket.setLinger(0);
    try {
      socket.bind(args[0]); // Rule 1: the server binds, plugs connect
    } catch (ZMQException e) { // "...ZMQException: Errno 48 : Address already in use"
      String text = e.toString();
      String reason = text.substring(text.lastIndexOf(": ") + 2);
      System.err.println("cannot bind " + args[0] + ": " + reason);
      System.exit(1);
    } catch (RuntimeException e) { // a malformed endpoint: IllegalArgumentException and others
      System.err.println("cannot bind " + args[0] + ": " + e.getMessage());
      System.exit(1);
    }
    System.out.println("listening on " + socket.base().getsockoptx(zmq.ZMQ.ZMQ_LAST_ENDPOINT));
    System.out.flush();

    Thread main = Thread.currentThread();
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  running = false; // on SIGINT or SIGTERM: let serve() return, then close
                  try {
                    main.join(2000);
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                  if (!main.isAlive()) {
                    // Stopped cleanly: exit 0 like the other templates, not
                    // the JVM's 128 + signal number.
                    Runtime.getRuntime().halt(0);
                  }
                }));
    serve(socket, mode.equals("raw"));
    socket.close();
    context.term();
  }
}
