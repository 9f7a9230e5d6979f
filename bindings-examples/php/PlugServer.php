<?php

declare(strict_types=1);

namespace Plug;

use JsonException;
use SplPriorityQueue;
use Throwable;
use ZMQ;
use ZMQContext;
use ZMQPoll;
use ZMQSocket;
use ZMQSocketException;

/**
 * A plug external server: a ZeroMQ ROUTER socket that echoes frames back
 * (raw mode) or answers JSON requests (rpc mode). See PROTOCOL.md.
 *
 * Two rules make any server work with a plug:
 *   1. Bind a ROUTER socket and reply with the envelope the request came with.
 *   2. In rpc mode, pass the request's "id" back unchanged.
 */
final class PlugServer
{
    private const MAX_BODY = 16 * 1024 * 1024; // larger requests get -32001 (PROTOCOL.md 8.1)
    private const MAX_IN_FLIGHT = 1024;        // deferred replies per peer before -32002 (8.2)
    private const MAX_NESTING = 1000;          // deeper JSON gets -32700
    private const HIGH_WATER_MARK = 100000;    // messages queued per peer before EAGAIN
    private const BATCH = 1000;                // messages read before due replies are sent
    private const SPACE = " \t\n\r";

    private ZMQSocket $socket;
    /** Replies held back by `sleep`, the earliest due on top. */
    private SplPriorityQueue $deferred;
    private int $sequence = 0;
    /** @var array<string, int> deferred replies per peer identity */
    private array $inFlight = [];

    public function __construct(string $endpoint, private string $mode)
    {
        // Rule 1: a ROUTER socket, bound. MANDATORY turns a silently dropped
        // reply into an error we can see and log.
        $this->socket = (new ZMQContext())->getSocket(ZMQ::SOCKET_ROUTER);
        $this->socket->setSockOpt(ZMQ::SOCKOPT_ROUTER_MANDATORY, 1);
        $this->socket->setSockOpt(ZMQ::SOCKOPT_SNDHWM, self::HIGH_WATER_MARK);
        $this->socket->setSockOpt(ZMQ::SOCKOPT_RCVHWM, self::HIGH_WATER_MARK);
        $this->socket->setSockOpt(ZMQ::SOCKOPT_LINGER, 0);
        $this->socket->bind($endpoint);
        $this->deferred = new SplPriorityQueue();
        $this->deferred->setExtractFlags(SplPriorityQueue::EXTR_BOTH);
    }

    public function endpoint(): string
    {
        return rtrim($this->socket->getSockOpt(ZMQ::SOCKOPT_LAST_ENDPOINT), "\0");
    }

    /** Serves until SIGINT or SIGTERM. */
    public function run(): void
    {
        // The signals stay pending and are picked up between polls: a PHP
        // signal handler that interrupts ZMQPoll::poll() is never called.
        pcntl_sigprocmask(SIG_BLOCK, [SIGINT, SIGTERM]);
        $poll = new ZMQPoll();
        $poll->add($this->socket, ZMQ::POLL_IN);
        $readable = $writable = [];
        while (pcntl_sigtimedwait([SIGINT, SIGTERM], $info, 0) <= 0) {
            if ($poll->poll($readable, $writable, $this->waitMs()) > 0) {
                $this->receive();
            }
            $this->sendDue();
        }
    }

    /** Poll until the next deferred reply is due, and at least every 100 ms. */
    private function waitMs(): int
    {
        if ($this->deferred->isEmpty()) {
            return 100;
        }
        $due = -$this->deferred->top()['priority'][0];
        return (int) max(0, min(100, ceil($due - self::now())));
    }

    private function receive(): void
    {
        for ($i = 0; $i < self::BATCH; $i++) {
            $frames = $this->socket->recvMulti(ZMQ::MODE_DONTWAIT);
            if ($frames === false) {
                return;
            }
            if ($this->mode === 'raw') {
                $this->deliver($frames); // the envelope is in the frames: echo them all
                continue;
            }
            // [identity, "", body...] is delimited, anything else is bare (PROTOCOL.md 3.4).
            $delimited = count($frames) > 2 && $frames[1] === '';
            $envelope = array_splice($frames, 0, $delimited ? 2 : 1);
            try {
                $this->answer($envelope, $frames);
            } catch (Throwable $e) { // a bug must not take the server down
                fwrite(STDERR, 'dropped a message: ' . $e->getMessage() . "\n");
            }
        }
    }

    private function answer(array $envelope, array $body): void
    {
        try {
            $members = $this->parse($body);
        } catch (BadRequest $e) {
            $this->deliver([...$envelope, '{"id":null,' . self::error($e->getCode(), $e->getMessage()) . '}']);
            return;
        }
        if (!isset($members['id'])) {
            return; // a notification gets no reply, ever
        }
        // Rule 2: copy the id's JSON text, so its type and value come back
        // unchanged (json_decode would turn 18446744073709551615 into a float).
        $head = isset($members['jsonrpc']) ? '{"jsonrpc":' . $members['jsonrpc'] . ',' : '{';
        [$outcome, $delayMs] = $this->dispatch($members);
        $reply = $head . '"id":' . $members['id'] . ',' . $outcome . '}';
        if ($delayMs === null) {
            $this->deliver([...$envelope, $reply]);
        } elseif (($this->inFlight[$envelope[0]] ?? 0) >= self::MAX_IN_FLIGHT) {
            $overloaded = self::error(-32002, 'too many requests in flight');
            $this->deliver([...$envelope, $head . '"id":' . $members['id'] . ',' . $overloaded . '}']);
        } else {
            $this->inFlight[$envelope[0]] = ($this->inFlight[$envelope[0]] ?? 0) + 1;
            $due = self::now() + $delayMs;
            $this->deferred->insert([...$envelope, $reply], [-$due, -$this->sequence++]);
        }
    }

    /**
     * Checks the body is one JSON object and returns its members as raw JSON text.
     *
     * @return array<string, string>
     */
    private function parse(array $body): array
    {
        if (count($body) !== 1) {
            throw new BadRequest('the body must be exactly one frame', -32600);
        }
        $json = $body[0];
        if (strlen($json) > self::MAX_BODY) {
            throw new BadRequest('message larger than ' . self::MAX_BODY . ' bytes', -32001);
        }
        try {
            json_decode($json, false, self::MAX_NESTING, JSON_BIGINT_AS_STRING | JSON_THROW_ON_ERROR);
        } catch (JsonException $e) {
            throw new BadRequest('parse error: ' . $e->getMessage(), -32700);
        }
        if ($json[strspn($json, self::SPACE)] !== '{') {
            throw new BadRequest('the request must be a JSON object', -32600);
        }
        $members = self::members($json);
        if (isset($members['id']) && str_contains('{[tf', $members['id'][0])) {
            throw new BadRequest('id must be a number, a string or null', -32600);
        }
        return $members;
    }

    /** @return array{string, ?int} the reply's result or error member, and ms to hold it back */
    private function dispatch(array $members): array
    {
        $method = json_decode($members['method'] ?? 'null');
        $params = $members['params'] ?? 'null';
        if (!is_string($method)) {
            return [self::error(-32600, 'method must be a string'), null];
        }
        switch ($method) {
            case 'ping':
                return ['"result":"pong"', null];
            case 'echo':
                return ['"result":' . $params, null];
            case 'sleep':
                $ms = json_decode($params, true)['ms'] ?? null;
                if ($params[0] === '{' && is_int($ms) && $ms >= 0 && $ms <= 60000) {
                    return ['"result":{"ms":' . $ms . '}', $ms];
                }
                return [self::error(-32602, 'params must be {"ms": an integer 0..60000}'), null];
            case 'greet':
                // An example of checking params: bad or missing ones get -32602.
                $name = $params[0] === '{' ? json_decode($params, true)['name'] ?? null : null;
                if (!is_string($name)) {
                    return [self::error(-32602, 'greet takes {"name": a string}'), null];
                }
                return ['"result":' . self::encode("hello, $name"), null];
            default:
                return [self::error(-32601, "method not found: $method"), null];
        }
    }

    private static function error(int $code, string $message): string
    {
        return '"error":' . self::encode(['code' => $code, 'message' => $message]);
    }

    /** JSON text of a value; a lone surrogate from "\ud800" becomes U+FFFD. */
    private static function encode(mixed $value): string
    {
        return json_encode($value, JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE);
    }

    private function sendDue(): void
    {
        while (!$this->deferred->isEmpty() && -$this->deferred->top()['priority'][0] <= self::now()) {
            $frames = $this->deferred->extract()['data'];
            if (--$this->inFlight[$frames[0]] === 0) {
                unset($this->inFlight[$frames[0]]);
            }
            $this->deliver($frames);
        }
    }

    /**
     * Never blocks: a peer that is gone (EHOSTUNREACH) or not reading (EAGAIN)
     * loses this one reply, and every other peer keeps being served.
     */
    private function deliver(array $frames): void
    {
        try {
            $sent = $this->socket->sendMulti($frames, ZMQ::MODE_DONTWAIT);
            $reason = 'queue full';
        } catch (ZMQSocketException $e) {
            $sent = false;
            $reason = $e->getMessage();
        }
        if ($sent === false) {
            fwrite(STDERR, 'dropped a reply to peer ' . bin2hex($frames[0]) . ": $reason\n");
        }
    }

    /**
     * Splits a valid JSON object's text into its members' raw JSON texts.
     *
     * @return array<string, string> member name => JSON text of its value
     */
    private static function members(string $json): array
    {
        $members = [];
        $pos = strspn($json, self::SPACE) + 1; // past the '{'
        while (true) {
            $pos += strspn($json, self::SPACE . ',', $pos);
            if ($json[$pos] === '}') {
                return $members;
            }
            $end = self::skipValue($json, $pos);
            $name = json_decode(substr($json, $pos, $end - $pos));
            $pos = $end + strspn($json, self::SPACE . ':', $end);
            $end = self::skipValue($json, $pos);
            $members[$name] = substr($json, $pos, $end - $pos);
            $pos = $end;
        }
    }

    /** Returns the offset just past the JSON value that starts at $pos. */
    private static function skipValue(string $json, int $pos): int
    {
        $char = $json[$pos];
        if ($char === '"') {
            return self::skipString($json, $pos);
        }
        if ($char !== '{' && $char !== '[') {
            return $pos + strcspn($json, self::SPACE . ',]}', $pos); // number, true, false, null
        }
        $depth = 0;
        do {
            $pos += strcspn($json, '"[]{}', $pos);
            if ($json[$pos] === '"') {
                $pos = self::skipString($json, $pos);
                continue;
            }
            $depth += str_contains('[{', $json[$pos]) ? 1 : -1;
            $pos++;
        } while ($depth > 0);
        return $pos;
    }

    private static function skipString(string $json, int $pos): int
    {
        while (true) {
            $pos += 1 + strcspn($json, '"\\', $pos + 1);
            if ($json[$pos] === '"') {
                return $pos + 1;
            }
            $pos++; // past the backslash; the escaped character is skipped next
        }
    }

    private static function now(): float
    {
        return hrtime(true) / 1e6;
    }
}
