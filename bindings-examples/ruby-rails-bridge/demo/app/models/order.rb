# frozen_string_literal: true

class Order < ActiveRecord::Base
  belongs_to :customer

  scope :recent, ->(limit: 10) { order(placed_at: :desc, id: :desc).limit(limit) }
  scope :for_customer, ->(customer_id) { where(customer_id:) }
end
