# frozen_string_literal: true

NAMES = %w[Ada Grace Linus Margaret Dennis Barbara Ken Frances Edsger Radia Alan Hedy].freeze
COUNTRIES = %w[GB US FI US US US US GB NL US GB AT].freeze

NAMES.each_with_index do |name, i|
  customer = Customer.create!(name:, country: COUNTRIES[i], active: i % 4 != 3)
  ((i % 3) + 1).times do |n|
    customer.orders.create!(total_cents: (1000 * (i + 1)) + n,
                            placed_at: Time.utc(2024, 1, 1) + (((i * 3) + n) * 86_400))
  end
end
