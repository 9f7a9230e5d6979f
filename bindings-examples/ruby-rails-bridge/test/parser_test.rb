# frozen_string_literal: true

require_relative 'test_helper'

class ParserTest < Minitest::Test
  def parse(text) = PlugBridge::Parser.parse(text)

  def assert_parse_error(text, message)
    error = assert_raises(PlugBridge::ParseError) { parse(text) }
    assert_match message, error.message
  end

  def test_the_seed_example
    call = parse('Customer.active(:limit => 10)')
    assert_equal 'Customer', call.constant
    assert_equal [PlugBridge::Step.new('active', [], { 'limit' => 10 })], call.steps
  end

  def test_keyword_style_and_chains
    call = parse('Customer.active(limit: 5).count')
    assert_equal [%w[active count], [{ 'limit' => 5 }, {}]], [call.steps.map(&:name), call.steps.map(&:options)]
  end

  def test_values
    step = parse(%q{A::B.m(1, -2, 1_000, "a\"b\n", 'c\'d', :sym, true, false, nil, "k" => 1)}).steps.first
    assert_equal [1, -2, 1000, "a\"b\n", "c'd", PlugBridge::Sym.new('sym'), true, false, nil], step.args
    assert_equal({ 'k' => 1 }, step.options)
  end

  def test_symbol_values_stay_names
    step = parse('Customer.m(:destroy_all, :k => :v)').steps.first
    assert_equal [PlugBridge::Sym.new('destroy_all')], step.args
    assert_equal({ 'k' => PlugBridge::Sym.new('v') }, step.options)
  end

  def test_errors_name_the_column
    assert_parse_error 'Customer.`ls`', "parse error at column 10: unexpected '`'"
    assert_parse_error 'Customer.find(10**30)', 'column 17'
    assert_parse_error 'Customer', "column 9: expected '.', found the end"
    assert_parse_error 'Customer.active(:limit => 10', "expected ','"
    assert_parse_error 'Customer.find(1.5)', 'column 15'
    assert_parse_error 'Customer.find(1, :a => 2, 3)', 'a plain argument cannot follow'
    assert_parse_error 'Customer.count junk', "unexpected 'junk'"
    assert_parse_error '', 'expected constant'
  end

  def test_limits
    assert_parse_error "Customer.find(#{'1' * 1000})", 'longer than 1000 characters'
    assert_parse_error "Customer#{'.count' * 11}", 'more than 10 calls'
    assert_parse_error "Customer.m(#{(['1'] * 11).join(',')})", 'more than 10 arguments'
    assert_parse_error 42, 'must be a string'
    assert_parse_error "Customer.find('\xff')".b.force_encoding('UTF-8'), 'not valid UTF-8'
  end
end
