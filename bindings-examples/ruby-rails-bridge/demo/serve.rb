# frozen_string_literal: true

require_relative 'config/environment'

abort 'usage: run ENDPOINT' unless ARGV.size == 1
PlugBridge.serve(ARGV.first)
