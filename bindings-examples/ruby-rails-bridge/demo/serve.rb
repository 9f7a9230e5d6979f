# frozen_string_literal: true

require_relative 'config/environment'

endpoint, mode = ARGV
abort 'usage: run ENDPOINT [rpc]' unless endpoint && ARGV.size <= 2 && [nil, 'rpc'].include?(mode)
PlugBridge.serve(endpoint)
