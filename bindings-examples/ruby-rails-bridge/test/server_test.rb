# frozen_string_literal: true

require 'ffi-rzmq'
require 'json'
require 'minitest/autorun'
require 'tempfile'
require 'tmpdir'

# End to end: the demo app served by ./run, a ZeroMQ DEALER as the plug.
class ServerTest < Minitest::Test
  RUN = File.expand_path('../run', __dir__)
  DEADLINE_MS = 10_000
  MARKER = File.join(Dir.tmpdir, "plug-bridge-e2e-marker-#{Process.pid}")

  class << self
    # One server for the whole class: booting the app takes a moment.
    def endpoint
      @endpoint ||= start
    end

    private

    def start
      @stderr = Tempfile.new('plug-bridge-stderr')
      io = IO.popen([RUN, 'tcp://127.0.0.1:*'], err: @stderr.path)
      Minitest.after_run { stop(io) }
      raise 'no "listening on" line within the deadline' unless io.wait_readable(DEADLINE_MS / 1000.0)

      io.gets.to_s[/\Alistening on (tcp:\S+)\n\z/, 1] or raise 'bad first line'
    end

    def stop(io)
      Process.kill('TERM', io.pid)
      Process.detach(io.pid).join(5) or Process.kill('KILL', io.pid)
    end
  end

  def setup
    @context = ZMQ::Context.new
    @socket = @context.socket(ZMQ::DEALER)
    @socket.setsockopt(ZMQ::LINGER, 0)
    @socket.connect(self.class.endpoint)
  end

  def teardown
    @socket.close
    @context.terminate
  end

  def send_frames(*frames) = refute_predicate(@socket.send_strings(frames.map(&:b)), :negative?)

  def receive(timeout_ms = DEADLINE_MS)
    poller = ZMQ::Poller.new
    poller.register_readable(@socket)
    return nil unless poller.poll(timeout_ms).positive?

    frames = []
    @socket.recv_strings(frames)
    frames
  end

  def request(body)
    send_frames(body.is_a?(String) ? body : JSON.generate(body))
    frames = receive
    refute_nil frames, 'no reply within the deadline'
    assert_equal 1, frames.size
    JSON.parse(frames.first)
  end

  def test_ping
    assert_equal({ 'id' => 1, 'result' => 'pong' }, request('{"id":1,"method":"ping"}'))
  end

  def test_the_seed_call
    reply = request(id: 2, call: 'Customer.active(:limit => 10)')
    assert_equal 2, reply['id']
    names = reply['result'].map { |customer| customer['name'] }
    assert_equal %w[Ada Grace Linus Dennis Barbara Ken Edsger Radia Alan], names
    assert_equal %w[active country created_at id name updated_at], reply['result'].first.keys.sort
    assert_equal({ 'id' => 3, 'result' => 5 }, request(id: 3, call: 'Customer.active(limit: 5).count'))
  end

  def test_refused_calls_run_nothing
    attacks = {
      'Customer.destroy_all' => [-32_601, 'method not allowed: Customer.destroy_all'],
      "Kernel.system('touch #{MARKER}')" => [-32_601, 'constant not allowed: Kernel'],
      'Customer.active(:limit => 1000)' => [-32_602, 'limit must be an integer 1..100'],
      "Customer.find(`touch #{MARKER}`)" => [-32_600, "parse error at column 15: unexpected '`'"]
    }
    attacks.each_with_index do |(call, (code, message)), id|
      assert_equal({ 'id' => id, 'error' => { 'code' => code, 'message' => message } }, request(id:, call:))
    end
    refute File.exist?(MARKER)
    assert_equal 12, request(id: 9, call: 'Customer.count')['result']
    assert_equal 24, request(id: 9, call: 'Order.count')['result']
  end

  def test_envelope_and_id_come_back_unchanged
    send_frames('', '{"id":18446744073709551615,"jsonrpc":"2.0","call":"Customer.find(3)"}')
    frames = receive
    assert_equal '', frames[0]
    assert_match(/\A\{"id":18446744073709551615,"jsonrpc":"2.0","result":\{"id":3,/, frames[1])
  end

  def test_sleep_does_not_hold_up_other_requests
    send_frames('{"id":"slow","method":"sleep","params":{"ms":300}}')
    send_frames('{"id":"fast","call":"Customer.count"}')
    assert_equal(%w[fast slow], [receive, receive].map { |frames| JSON.parse(frames.first)['id'] })
  end

  def test_greet_checks_its_params
    assert_equal 'hello, Ada', request(id: 1, method: 'greet', params: { name: 'Ada' })['result']
    [nil, {}, { name: 5 }, ['Ada']].each do |params|
      reply = request({ id: 2, method: 'greet', params: }.compact)
      assert_equal(-32_602, reply.dig('error', 'code'), params.inspect)
    end
  end

  def test_bad_input_and_notifications
    assert_equal(-32_700, request("\xff{").dig('error', 'code'))
    assert_equal(-32_600, request('[1]').dig('error', 'code'))
    send_frames('{"call":"Customer.destroy_all"}')
    assert_nil receive(300), 'a notification got a reply'
    assert_equal 'pong', request('{"id":1,"method":"ping"}')['result']
  end
end
