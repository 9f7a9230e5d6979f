# frozen_string_literal: true

require 'fileutils'
require 'tmpdir'
require_relative 'test_helper'

# Every call here must be refused with a reason, and must leave no trace.
class InjectionTest < Minitest::Test
  include BridgeTestHelper

  MARKER = File.join(Dir.tmpdir, "plug-bridge-marker-#{Process.pid}")
  TOUCH = "touch #{MARKER}".freeze

  ATTACKS = {
    -32_600 => [
      "Customer.find(`#{TOUCH}`)", "Customer.find(%x(#{TOUCH}))", "Customer.active(:limit => 10 + `#{TOUCH}`)",
      "system('#{TOUCH}')", "Customer.find(1); system('#{TOUCH}')", "Customer.find(eval('1'))",
      "Customer.find(1).instance_eval { system('#{TOUCH}') }", 'Customer.active(:limit => 10**30)',
      'Customer.active(:limit => Kernel.rand)', 'Customer.active(:limit => [1])', 'Customer.active(limit: {a: 1})',
      'Customer.find(((((((((1)))))))))', "Customer.#{'count.' * 10_000}count", "Customer.find('#{'x' * (10 << 20)}')",
      'Customer.where("1=1"); DROP TABLE customers; --', 'Customer::destroy_all', 'customer.destroy_all',
      "Customer.find(1)\n.destroy", 'Customer.find(1) && Customer.delete_all'
    ],
    -32_601 => [
      "Kernel.system('#{TOUCH}')", "Kernel.exec('#{TOUCH}')", "File.write('#{MARKER}', 'x')", "IO.popen('#{TOUCH}')",
      'ObjectSpace.each_object', 'ActiveRecord::Base.connection', 'Object.const_get(:File)', 'Process.kill(9, 1)',
      "Customer.eval('1')", "Customer.instance_eval('system(1)')", "Customer.class_eval('1')",
      'Customer.send(:destroy_all)', 'Customer.public_send(:delete_all)', 'Customer.__send__(:destroy_all)',
      'Customer.method(:destroy_all)', 'Customer.const_get(:Kernel)', 'Customer.constantize',
      'Customer.destroy_all', 'Customer.delete_all',
      "Customer.update_all(:name => 'x')", "Customer.create(:name => 'x')",
      'Customer.active(:limit => 5).destroy_all', 'Customer.find(3).destroy', 'Customer.where(:id => 1)',
      'Customer.find_by_sql("SELECT 1")', 'Customer.connection', 'Customer.count.class', 'Order.delete_all'
    ],
    -32_602 => [
      'Customer.find("1; DROP TABLE customers")', "Customer.find(\"\#{system('#{TOUCH}')}\")",
      %q{Customer.find("' OR 1=1 --")}, %q{Customer.in_country("' OR 1=1 --")},
      'Customer.in_country("NL\'); DROP TABLE customers; --")',
      'Customer.active(:limit => "10; DELETE FROM customers")',
      'Customer.active(:limit => 1000000000000000000000000000000)', 'Customer.active(:limit => 0)',
      'Customer.active(:limit => -1)', 'Customer.active(:limit => true)', 'Customer.active(:limit => nil)',
      'Customer.active(:limit => :all)', 'Customer.active(:order => "id; DROP TABLE customers")',
      'Customer.active(10)', 'Customer.find', 'Customer.find(1, 2)', 'Customer.find(2147483648)',
      "Customer.in_country('#{'A' * 500}')", 'Order.for_customer("1 OR 1=1").count'
    ]
  }.freeze

  def setup
    FileUtils.rm_f(MARKER)
  end

  ATTACKS.each do |code, calls|
    calls.each_with_index do |text, i|
      define_method("test_refused_#{code.abs}_#{i}") do
        before = database_fingerprint
        error = assert_raises(PlugBridge::Refused, PlugBridge::ParseError) { call(text) }
        assert_equal code, error.is_a?(PlugBridge::ParseError) ? -32_600 : error.code, error.message
        refute_empty error.message
        refute File.exist?(MARKER), 'a shell command ran'
        assert_equal before, database_fingerprint, 'the database changed'
      end
    end
  end

  def test_deep_json_nesting_is_a_parse_error_not_a_crash
    server = PlugBridge::Server.allocate
    body = %({"id":1,"call":#{'[' * 100_000}#{']' * 100_000}})
    error = assert_raises(PlugBridge::Server::BadRequest) { server.send(:parse, [body.b]) }
    assert_equal(-32_700, error.code)
  end

  def test_the_allowed_calls_still_work
    assert_equal 12, call('Customer.count')
    assert_equal 5, call('Customer.active(:limit => 5).count')
    assert_equal(%w[Ada Grace], call('Customer.active(limit: 2)').map { |c| c['name'] })
    assert_equal 'Linus', call('Customer.find(3)')['name']
    assert_equal 6, call('Customer.in_country("US").count')
    assert_equal 100, PlugBridge::AllowList::MAX_ROWS
  end

  def test_a_bad_step_later_in_the_chain_stops_the_whole_call
    before = database_fingerprint
    assert_raises(PlugBridge::Refused) { call('Customer.active(:limit => 5).delete_all') }
    assert_equal before, database_fingerprint
  end
end
