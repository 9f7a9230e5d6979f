# frozen_string_literal: true

class Customer < ActiveRecord::Base
  has_many :orders

  scope :active, ->(limit: 10) { where(active: true).order(:id).limit(limit) }
  scope :in_country, ->(country) { where(country:) }
end
