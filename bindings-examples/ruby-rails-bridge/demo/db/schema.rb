# frozen_string_literal: true

ActiveRecord::Schema.define do
  create_table :customers do |t|
    t.string :name, null: false
    t.string :country, null: false
    t.boolean :active, null: false, default: true
    t.timestamps
  end

  create_table :orders do |t|
    t.references :customer, null: false
    t.integer :total_cents, null: false
    t.datetime :placed_at, null: false
  end
end
