/* An external server for plug, in C with libzmq.
 *
 * Two rules make a plug server (see PROTOCOL.md):
 *   1. Bind a ROUTER socket and reply with the envelope each message arrived
 *      with.
 *   2. In rpc mode, pass the request's "id" back unchanged.
 *
 * The JSON is checked and scanned but never decoded: every value keeps the
 * text it arrived with, so an id such as 18446744073709551615 goes back
 * exactly, whatever its size.
 *
 * Usage: server ENDPOINT [rpc|raw]
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define MAX_BODY (16 << 20) /* larger rpc bodies get -32001 (PROTOCOL 8.1) */
#define MAX_DEFERRED 1024   /* sleeping requests per peer before -32002 */
#define MAX_DEPTH 1000      /* deeper JSON gets -32700 instead of a crash */

typedef struct {
  const char *p; /* the raw JSON text of one value; p is NULL when absent */
  size_t n;
} span_t;

typedef struct {
  long long due; /* milliseconds on the monotonic clock */
  void *identity;
  size_t identity_len;
  int delimited;
  char *reply;
} deferred_t;

static volatile sig_atomic_t stop;
static deferred_t *queue; /* deferred replies, in no particular order */
static size_t queued, queue_cap;

static const span_t null = {"null", 4}, absent = {NULL, 0};

static int wakeup[2]; /* a pipe: the signal handler writes, zmq_poll reads */

static void on_signal(int sig) {
  stop = sig;
  ssize_t ignored = write(wakeup[1], "", 1); /* wakes up zmq_poll, even */
  (void)ignored; /* when the signal came just before it went to sleep */
}

static void *xrealloc(void *p, size_t n) {
  if (!(p = realloc(p, n))) {
    fputs("out of memory\n", stderr);
    exit(1);
  }
  return p;
}

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/* ---- JSON: validation and member lookup on the raw text ---------------- */

static int utf8_valid(const unsigned char *s, size_t n) {
  static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
  for (size_t i = 0; i < n;) {
    unsigned char c = s[i];
    size_t len = c < 0x80             ? 1
                 : (c & 0xE0) == 0xC0 ? 2
                 : (c & 0xF0) == 0xE0 ? 3
                 : (c & 0xF8) == 0xF0 ? 4
                                      : 0;
    if (len == 0 || len > n - i)
      return 0;
    uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return 0;
      cp = cp << 6 | (s[i + k] & 0x3F);
    }
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    i += len;
  }
  return 1;
}

static const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    p++;
  return p;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Each scan_* takes p at the start of a token and returns the end of it, or
 * NULL when the text is not valid JSON. */
static const char *scan_string(const char *p, const char *end) {
  for (p++; p < end; p++) {
    if (*p == '"')
      return p + 1;
    if ((unsigned char)*p < 0x20)
      return NULL;
    if (*p == '\\') {
      if (++p == end)
        return NULL;
      if (*p == 'u') {
        if (end - p < 5 || !is_hex(p[1]) || !is_hex(p[2]) || !is_hex(p[3]) ||
            !is_hex(p[4]))
          return NULL;
        p += 4;
      } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
        return NULL;
      }
    }
  }
  return NULL;
}

static const char *scan_digits(const char *p, const char *end) {
  const char *start = p;
  while (p < end && is_digit(*p))
    p++;
  return p > start ? p : NULL;
}

static const char *scan_number(const char *p, const char *end) {
  if (p < end && *p == '-')
    p++;
  if (p < end && *p == '0')
    p++;
  else if (!(p = scan_digits(p, end)))
    return NULL;
  if (p < end && *p == '.' && !(p = scan_digits(p + 1, end)))
    return NULL;
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-'))
      p++;
    if (!(p = scan_digits(p, end)))
      return NULL;
  }
  return p;
}

static const char *scan_literal(const char *p, const char *end,
                                const char *word) {
  size_t n = strlen(word);
  return (size_t)(end - p) >= n && !memcmp(p, word, n) ? p + n : NULL;
}

static const char *scan_value(const char *p, const char *end, int depth) {
  if (p == end || depth > MAX_DEPTH)
    return NULL;
  switch (*p) {
  case '"':
    return scan_string(p, end);
  case 't':
    return scan_literal(p, end, "true");
  case 'f':
    return scan_literal(p, end, "false");
  case 'n':
    return scan_literal(p, end, "null");
  case '{':
  case '[': {
    char close = *p == '{' ? '}' : ']';
    p = skip_ws(p + 1, end);
    if (p < end && *p == close)
      return p + 1;
    for (;;) {
      if (close == '}') { /* "key": */
        if (p == end || *p != '"' || !(p = scan_string(p, end)))
          return NULL;
        p = skip_ws(p, end);
        if (p == end || *p != ':')
          return NULL;
        p = skip_ws(p + 1, end);
      }
      if (!(p = scan_value(p, end, depth + 1)))
        return NULL;
      p = skip_ws(p, end);
      if (p < end && *p == close)
        return p + 1;
      if (p == end || *p != ',')
        return NULL;
      p = skip_ws(p + 1, end);
    }
  }
  default:
    return scan_number(p, end);
  }
}

/* Finds the members named keys[i] of a valid JSON object; a later duplicate
 * wins. Keys are compared as written, so an escaped key does not match. */
static void find_members(span_t object, const char *const *keys, int nkeys,
                         span_t *found) {
  const char *end = object.p + object.n;
  const char *p = skip_ws(object.p + 1, end);
  for (int i = 0; i < nkeys; i++)
    found[i] = absent;
  while (*p == '"') {
    const char *key = p + 1, *key_end = scan_string(p, end) - 1;
    const char *value = skip_ws(skip_ws(key_end + 1, end) + 1, end);
    p = scan_value(value, end, 0);
    for (int i = 0; i < nkeys; i++)
      if (strlen(keys[i]) == (size_t)(key_end - key) &&
          !memcmp(key, keys[i], key_end - key))
        found[i] = (span_t){value, p - value};
    p = skip_ws(p, end);
    if (*p == ',')
      p = skip_ws(p + 1, end);
  }
}

static int span_is(span_t s, const char *text) {
  return s.p && s.n == strlen(text) && !memcmp(s.p, text, s.n);
}

/* ---- Replies --------------------------------------------------------------
 */

/* {"jsonrpc":...,"id":...,"result":...}, the jsonrpc member only if given. */
static char *reply(span_t jsonrpc, span_t id, const char *kind, span_t value) {
  size_t cap = jsonrpc.n + id.n + value.n + 64;
  char *out = xrealloc(NULL, cap);
  snprintf(out, cap, "{%s%.*s%s\"id\":%.*s,\"%s\":%.*s}",
           jsonrpc.p ? "\"jsonrpc\":" : "", (int)jsonrpc.n,
           jsonrpc.p ? jsonrpc.p : "", jsonrpc.p ? "," : "", (int)id.n, id.p,
           kind, (int)value.n, value.p);
  return out;
}

static char *error(span_t jsonrpc, span_t id, int code, const char *message) {
  char text[256];
  int n = snprintf(text, sizeof text, "{\"code\":%d,\"message\":\"%s\"}", code,
                   message);
  return reply(jsonrpc, id, "error", (span_t){text, (size_t)n});
}

/* Returns n for params {"ms": n} with an integer n from 0 to 60000, else -1. */
static int sleep_ms(span_t params) {
  static const char *const key[] = {"ms"};
  span_t ms;
  if (!params.p || *params.p != '{')
    return -1;
  find_members(params, key, 1, &ms);
  if (!ms.p || ms.n > 5)
    return -1;
  int n = 0;
  for (size_t i = 0; i < ms.n; i++) {
    if (!is_digit(ms.p[i]))
      return -1;
    n = n * 10 + (ms.p[i] - '0');
  }
  return n <= 60000 ? n : -1;
}

/* An example of checking params: greet takes {"name": a string} and answers
 * "hello, NAME"; anything else gets -32602. The name's JSON text is copied,
 * escapes and all, so it needs no decoding. */
static char *greet(span_t jsonrpc, span_t id, span_t params) {
  static const char *const key[] = {"name"};
  span_t name = absent;
  if (params.p && *params.p == '{')
    find_members(params, key, 1, &name);
  if (!name.p || *name.p != '"')
    return error(jsonrpc, id, -32602, "greet takes {\\\"name\\\": a string}");
  size_t n = name.n + 16;
  char *text = xrealloc(NULL, n);
  int len = snprintf(text, n, "\"hello, %.*s", (int)name.n - 1, name.p + 1);
  char *out = reply(jsonrpc, id, "result", (span_t){text, (size_t)len});
  free(text);
  return out;
}

/* Answers one request body. Returns NULL for a notification, which is never
 * answered. Sets *delay to the milliseconds the reply must wait. */
static char *handle(span_t body, int busy, int *delay) {
  enum { ID, METHOD, PARAMS, JSONRPC, NKEYS };
  static const char *const keys[] = {"id", "method", "params", "jsonrpc"};
  const char *end = body.p + body.n, *start = skip_ws(body.p, end), *after;
  span_t m[NKEYS];

  *delay = 0;
  if (!utf8_valid((const unsigned char *)body.p, body.n))
    return error(absent, null, -32700, "parse error: invalid UTF-8");
  if (!(after = scan_value(start, end, 0)) || skip_ws(after, end) != end)
    return error(absent, null, -32700, "parse error: invalid JSON");
  if (*start != '{')
    return error(absent, null, -32600, "request must be a JSON object");
  find_members((span_t){start, (size_t)(after - start)}, keys, NKEYS, m);
  if (!m[ID].p)
    return NULL;

  /* Rule 2: the id goes back as the very text it came in. */
  if (strchr("{[tf", *m[ID].p))
    return error(m[JSONRPC], null, -32600, "id must be a number or string");
  if (!m[METHOD].p || *m[METHOD].p != '"')
    return error(m[JSONRPC], m[ID], -32600, "method must be a string");
  if (span_is(m[METHOD], "\"ping\""))
    return reply(m[JSONRPC], m[ID], "result", (span_t){"\"pong\"", 6});
  if (span_is(m[METHOD], "\"echo\""))
    return reply(m[JSONRPC], m[ID], "result", m[PARAMS].p ? m[PARAMS] : null);
  if (span_is(m[METHOD], "\"greet\""))
    return greet(m[JSONRPC], m[ID], m[PARAMS]);
  if (span_is(m[METHOD], "\"sleep\"")) {
    char result[32];
    int ms = sleep_ms(m[PARAMS]);
    if (busy)
      return error(m[JSONRPC], m[ID], -32002, "too many requests in flight");
    if (ms < 0)
      return error(m[JSONRPC], m[ID], -32602,
                   "params.ms must be an integer from 0 to 60000");
    *delay = ms;
    int n = snprintf(result, sizeof result, "{\"ms\":%d}", ms);
    return reply(m[JSONRPC], m[ID], "result", (span_t){result, (size_t)n});
  }
  return error(m[JSONRPC], m[ID], -32601, "method not found");
}

/* ---- The socket -----------------------------------------------------------
 */

/* With ZMQ_ROUTER_MANDATORY a full (EAGAIN) or vanished (EHOSTUNREACH) peer
 * makes the send fail instead of silently swallowing the reply: drop that one
 * reply with a log line and carry on. */
static void send_reply(void *sock, const void *identity, size_t identity_len,
                       int delimited, const char *body) {
  if (zmq_send(sock, identity, identity_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
      (delimited && zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) ||
      zmq_send(sock, body, strlen(body), ZMQ_DONTWAIT) < 0)
    fprintf(stderr, "dropped a reply: %s\n", zmq_strerror(zmq_errno()));
}

static size_t in_flight(const void *identity, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < queued; i++)
    n += queue[i].identity_len == len &&
         !memcmp(queue[i].identity, identity, len);
  return n;
}

/* parts: [identity, body] or [identity, "", body] (PROTOCOL.md 3.4). */
static void answer(void *sock, zmq_msg_t *parts, size_t nparts) {
  int delimited = nparts > 2 && zmq_msg_size(&parts[1]) == 0;
  size_t first = delimited ? 2 : 1;
  const void *identity = zmq_msg_data(&parts[0]);
  size_t identity_len = zmq_msg_size(&parts[0]);
  int delay = 0;
  char *out;

  if (nparts - first != 1)
    out = error(absent, null, -32600, "body must be one frame");
  else if (zmq_msg_size(&parts[first]) > MAX_BODY)
    out = error(absent, null, -32001, "message too large");
  else
    out = handle(
        (span_t){zmq_msg_data(&parts[first]), zmq_msg_size(&parts[first])},
        in_flight(identity, identity_len) >= MAX_DEFERRED, &delay);
  if (!out)
    return;
  if (delay == 0) {
    send_reply(sock, identity, identity_len, delimited, out); /* Rule 1 */
    free(out);
    return;
  }
  if (queued == queue_cap)
    queue = xrealloc(queue, (queue_cap = queue_cap ? 2 * queue_cap : 64) *
                                sizeof *queue);
  deferred_t *d = &queue[queued++];
  *d = (deferred_t){now_ms() + delay, xrealloc(NULL, identity_len + 1),
                    identity_len, delimited, out};
  memcpy(d->identity, identity, identity_len);
}

/* Sends the deferred replies that are due; returns the poll timeout until the
 * next one (-1: none left). */
static long flush_due(void *sock) {
  long long now = now_ms(), next = -1;
  for (size_t i = 0; i < queued;) {
    deferred_t *d = &queue[i];
    if (d->due > now) {
      next = next < 0 || d->due - now < next ? d->due - now : next;
      i++;
      continue;
    }
    send_reply(sock, d->identity, d->identity_len, d->delimited, d->reply);
    free(d->identity);
    free(d->reply);
    *d = queue[--queued];
  }
  return (long)next;
}

static void serve(void *sock, int raw) {
  zmq_msg_t *parts = NULL;
  size_t cap = 0;
  long timeout = -1;

  while (!stop) {
    zmq_pollitem_t items[] = {{sock, 0, ZMQ_POLLIN, 0},
                              {NULL, wakeup[0], ZMQ_POLLIN, 0}};
    if (zmq_poll(items, 2, timeout) < 0 && zmq_errno() != EINTR)
      break;
    size_t n = 0, i;
    int more = items[0].revents & ZMQ_POLLIN;
    while (more) { /* one whole message, however many frames */
      if (n == cap)
        parts = xrealloc(parts, (cap = cap ? 2 * cap : 8) * sizeof *parts);
      zmq_msg_init(&parts[n]);
      if (zmq_msg_recv(&parts[n], sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&parts[n]);
        break;
      }
      more = zmq_msg_more(&parts[n++]);
    }
    if (n > 0 && raw) { /* Rule 1: identity (and delimiter) go back too */
      for (i = 0; i < n; i++) {
        int flags = (i + 1 < n ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT;
        if (zmq_msg_send(&parts[i], sock, flags) < 0) {
          fprintf(stderr, "dropped a reply: %s\n", zmq_strerror(zmq_errno()));
          break;
        }
      }
    } else if (n > 0) {
      answer(sock, parts, n);
    }
    for (i = 0; i < n; i++)
      zmq_msg_close(&parts[i]);
    timeout = flush_due(sock);
  }
  free(parts);
}

int main(int argc, char **argv) {
  const char *mode = argc > 2 ? argv[2] : "rpc";
  if (argc < 2 || argc > 3 || (strcmp(mode, "rpc") && strcmp(mode, "raw"))) {
    fputs("usage: run ENDPOINT [rpc|raw]\n", stderr);
    return 2;
  }
  struct sigaction sa = {.sa_handler = on_signal};
  if (pipe(wakeup) < 0 || fcntl(wakeup[1], F_SETFL, O_NONBLOCK) < 0) {
    perror("pipe");
    return 1;
  }
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  void *context = zmq_ctx_new();
  void *sock = zmq_socket(context, ZMQ_ROUTER);
  int one = 1, zero = 0, hwm = 100000; /* the default 1000 is too few for */
  zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
  zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm); /* a plug that */
  zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm); /* pipelines */
  zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
  if (zmq_bind(sock, argv[1]) < 0) { /* Rule 1: the server binds */
    fprintf(stderr, "cannot bind %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
    return 1;
  }
  char endpoint[256];
  size_t len = sizeof endpoint;
  zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, endpoint, &len);
  printf("listening on %s\n", endpoint);
  fflush(stdout);

  serve(sock, strcmp(mode, "raw") == 0);
  zmq_close(sock);
  zmq_ctx_term(context);
  return 0;
}
