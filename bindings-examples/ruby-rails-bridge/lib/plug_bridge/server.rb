# frozen_string_literal: true

require 'ffi-rzmq'
require 'json'

module PlugBridge
  # Keeps a number with a fraction or exponent as the JSON text it arrived as,
  # so 1.10 or 1e400 go back unchanged. Integers need no help: Ruby's are exact.
  RawFloat = Struct.new(:text) do
    def to_json(*) = text
  end

  # One reply held back by `sleep` until it is due.
  Deferred = Struct.new(:due, :envelope, :reply)

  # The ZeroMQ side of the bridge, a plug server in rpc mode (see
  # PROTOCOL.md). Two rules make it work with a plug:
  #   1. Bind a ROUTER socket and reply with the envelope the request came with.
  #   2. Pass the request's "id" back unchanged.
  class Server
    # A request that cannot be read at all: the reply's id is null.
    class BadRequest < StandardError
      attr_reader :code

      def initialize(code, message)
        super(message)
        @code = code
      end
    end

    # The endpoint cannot be bound (in use, malformed): one line, no backtrace.
    class BindError < StandardError; end

    MAX_BODY = 16 * 1024 * 1024 # larger requests get -32001 (PROTOCOL.md 8.1)
    MAX_IN_FLIGHT = 1024        # deferred replies per peer before -32002 (8.2)
    MAX_NESTING = 1000          # deeper JSON gets -32700 instead of a crash
    HIGH_WATER_MARK = 100_000   # messages queued per peer before EAGAIN
    BATCH = 1000                # messages read before due replies are sent

    def initialize(endpoint, allow_list)
      @allow_list = allow_list
      @context = ZMQ::Context.new
      @socket = @context.socket(ZMQ::ROUTER)
      # Rule 1: a ROUTER socket, bound. MANDATORY turns a silently dropped
      # reply into an error we can see and log.
      @socket.setsockopt(ZMQ::ROUTER_MANDATORY, 1)
      @socket.setsockopt(ZMQ::SNDHWM, HIGH_WATER_MARK)
      @socket.setsockopt(ZMQ::RCVHWM, HIGH_WATER_MARK)
      @socket.setsockopt(ZMQ::LINGER, 0)
      raise BindError, "cannot bind #{endpoint}: #{ZMQ::Util.error_string}" if @socket.bind(endpoint).negative?

      @poller = ZMQ::Poller.new
      @poller.register_readable(@socket)
      @deferred = []
      @in_flight = Hash.new(0)
      @running = true
    end

    def endpoint
      value = []
      @socket.getsockopt(ZMQ::LAST_ENDPOINT, value)
      value.first.delete("\0")
    end

    def run
      while @running
        receive if @poller.poll(wait_ms).positive?
        send_due
      end
    ensure
      @socket.close
      @context.terminate
    end

    def stop
      @running = false
    end

    private

    # Poll until the next deferred reply is due, and at least every 100 ms so
    # a stop request is noticed.
    def wait_ms
      return 100 if @deferred.empty?

      ((@deferred.first.due - now) * 1000).ceil.clamp(0, 100)
    end

    def receive
      BATCH.times do
        frames = []
        break if @socket.recv_strings(frames, ZMQ::DONTWAIT).negative?

        handle(frames)
      end
    end

    def handle(frames)
      envelope, body = split_envelope(frames)
      answer(envelope, body)
    rescue StandardError => e # a bug must not take the server down
      warn "dropped a message: #{e.class}: #{e.message}"
    end

    # [identity, "", body...] is delimited, anything else is bare (PROTOCOL.md 3.4).
    def split_envelope(frames)
      identity, *rest = frames
      if rest.size > 1 && rest.first.empty?
        [[identity, rest.first], rest.drop(1)]
      else
        [[identity], rest]
      end
    end

    def answer(envelope, body)
      request = parse(body)
      return unless request.key?('id') # a notification gets no reply, ever

      # Rule 2: the id goes back with the same JSON type and value.
      reply = { 'id' => request['id'] }
      reply['jsonrpc'] = request['jsonrpc'] if request.key?('jsonrpc')
      members, delay_ms = dispatch(request)
      reply.merge!(members)
      delay_ms ? defer(envelope, reply, delay_ms) : deliver(envelope + [encode(reply)])
    rescue BadRequest => e
      deliver(envelope + [encode({ 'id' => nil, **error(e.code, e.message) })])
    end

    def parse(body)
      raise BadRequest.new(-32_600, 'the body must be exactly one frame') unless body.size == 1

      text = body.first.force_encoding(Encoding::UTF_8)
      raise BadRequest.new(-32_001, "message larger than #{MAX_BODY} bytes") if text.bytesize > MAX_BODY
      raise BadRequest.new(-32_700, 'body is not valid UTF-8') unless text.valid_encoding?

      request = JSON.parse(text, decimal_class: RawFloat, max_nesting: MAX_NESTING)
      raise BadRequest.new(-32_600, 'the request must be a JSON object') unless request.is_a?(Hash)
      raise BadRequest.new(-32_600, 'id must be a number, a string or null') if invalid_id?(request['id'])

      request
    rescue JSON::ParserError => e # NestingError too
      raise BadRequest.new(-32_700, "parse error: #{e.message[0, 80]}")
    end

    def invalid_id?(id)
      [Hash, Array, TrueClass, FalseClass].any? { |type| id.is_a?(type) }
    end

    # Returns [reply members, milliseconds to hold the reply back or nil].
    # A request with "method" is a plain RPC; one with "call" goes to the bridge.
    def dispatch(request)
      return bridge(request['call']) if request.key?('call') && !request.key?('method')

      params = request['params']
      case request['method']
      when 'ping' then [{ 'result' => 'pong' }, nil]
      when 'echo' then [{ 'result' => params }, nil]
      when 'sleep' then sleep_reply(params)
      when 'greet' then greet(params)
      when String then [error(-32_601, "method not found: #{request['method']}"), nil]
      else [error(-32_600, 'method (or call) must be a string'), nil]
      end
    end

    def bridge(call)
      [{ 'result' => @allow_list.call(call) }, nil]
    rescue ParseError => e
      [error(-32_600, e.message), nil]
    rescue Refused => e
      [error(e.code, e.message), nil]
    rescue StandardError => e
      warn "call failed: #{e.class}: #{e.message}"
      [error(-32_603, "internal error: #{e.class}"), nil]
    end

    def sleep_reply(params)
      ms = params['ms'] if params.is_a?(Hash)
      return [{ 'result' => { 'ms' => ms } }, ms] if ms.is_a?(Integer) && ms.between?(0, 60_000)

      [error(-32_602, 'params must be {"ms": an integer 0..60000}'), nil]
    end

    # An example of checking params: bad or missing ones get -32602.
    def greet(params)
      name = params['name'] if params.is_a?(Hash)
      return [{ 'result' => "hello, #{name}" }, nil] if name.is_a?(String)

      [error(-32_602, 'greet takes {"name": a string}'), nil]
    end

    def error(code, message)
      { 'error' => { 'code' => code, 'message' => message } }
    end

    def encode(reply)
      JSON.generate(reply, max_nesting: false)
    end

    # Holds a reply back without blocking: the main loop sends it when due.
    def defer(envelope, reply, delay_ms)
      identity = envelope.first
      if @in_flight[identity] >= MAX_IN_FLIGHT
        reply.delete('result')
        return deliver(envelope + [encode(reply.merge(error(-32_002, 'too many requests in flight')))])
      end

      @in_flight[identity] += 1
      entry = Deferred.new(now + (delay_ms / 1000.0), envelope, reply)
      @deferred.insert(@deferred.bsearch_index { |d| d.due > entry.due } || @deferred.size, entry)
    end

    def send_due
      while (entry = @deferred.first) && entry.due <= now
        @deferred.shift
        identity = entry.envelope.first
        @in_flight.delete(identity) if (@in_flight[identity] -= 1).zero?
        deliver(entry.envelope + [encode(entry.reply)])
      end
    end

    # Never blocks: a peer that is gone (EHOSTUNREACH) or not reading (EAGAIN)
    # loses this one reply, and every other peer keeps being served.
    def deliver(frames)
      return unless @socket.send_strings(frames, ZMQ::DONTWAIT).negative?

      warn "dropped a reply to peer #{frames.first.unpack1('H*')}: #{ZMQ::Util.error_string}"
    end

    def now
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end
end
