# frozen_string_literal: true

# Boots the demo app the way Rails would: database, schema, models, seed
# data, then the initializers (where the bridge's allow-list lives).
require_relative '../../lib/plug_bridge'

root = File.expand_path('..', __dir__)
ActiveRecord::Base.establish_connection(adapter: 'sqlite3', database: ENV.fetch('DEMO_DATABASE', ':memory:'))
ActiveRecord::Migration.verbose = false
ActiveRecord::Base.logger = nil
load File.join(root, 'db/schema.rb')
Dir[File.join(root, 'app/models/*.rb')].each { |file| require file }
load File.join(root, 'db/seeds.rb')
Dir[File.join(root, 'config/initializers/*.rb')].each { |file| require file }
