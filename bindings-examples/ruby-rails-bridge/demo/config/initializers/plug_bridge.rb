# frozen_string_literal: true

# What a plug may call. Anything not listed here is refused, unrun.
PlugBridge.allow_list = PlugBridge::AllowList.new do |allow|
  allow.model Customer do |m|
    m.scope :active, limit: 1..100 # Customer.active(:limit => 10)
    m.scope :in_country, /\A[A-Z]{2}\z/           # Customer.in_country("NL")
    m.query :find, 1..2_147_483_647               # Customer.find(3)
    m.query :count                                # Customer.active(:limit => 5).count
  end

  allow.model Order do |m|
    m.scope :recent, limit: 1..100                # Order.recent(limit: 5)
    m.scope :for_customer, 1..2_147_483_647       # Order.for_customer(3).count
    m.query :find, 1..2_147_483_647
    m.query :count
  end
end
