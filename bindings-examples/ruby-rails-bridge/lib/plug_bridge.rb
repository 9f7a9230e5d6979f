# frozen_string_literal: true

require 'active_record'
require_relative 'plug_bridge/parser'
require_relative 'plug_bridge/allow_list'
require_relative 'plug_bridge/server'

# Lets a plug call a Rails app's models over ZeroMQ:
#
#   {"id": 1, "call": "Customer.active(:limit => 10)"}
#   -> {"id": 1, "result": [{"id": 1, "name": "Ada", ...}, ...]}
#
# Only what the app puts on its allow-list can run (see AllowList); the call
# text is parsed by PlugBridge::Parser and never evaluated.
module PlugBridge
  class << self
    attr_accessor :allow_list

    # Serves in the foreground until SIGINT or SIGTERM. An endpoint that
    # cannot be bound ends the process with one line on stderr, status 1.
    def serve(endpoint)
      raise 'set PlugBridge.allow_list first (see README.md)' unless allow_list

      server = begin
        Server.new(endpoint, allow_list)
      rescue Server::BindError => e
        abort e.message
      end
      %w[INT TERM].each { |signal| trap(signal) { server.stop } }
      $stdout.puts "listening on #{server.endpoint}"
      $stdout.flush
      server.run
    end
  end
end
