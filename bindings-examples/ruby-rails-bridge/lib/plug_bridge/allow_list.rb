# frozen_string_literal: true

module PlugBridge
  # A call that is not carried out; code and message go into the error reply.
  class Refused < StandardError
    attr_reader :code

    def initialize(code, message)
      super(message)
      @code = code
    end
  end

  # The models and methods a plug may call, with the type and bounds of every
  # argument. Each method is a Method object bound when the app loads; a call
  # only ever picks one out of this table by name.
  #
  #   PlugBridge::AllowList.new do |allow|
  #     allow.model Customer do |m|
  #       m.scope :active, limit: 1..100        # Customer.active(:limit => 10)
  #       m.scope :in_country, /\A[A-Z]{2}\z/   # Customer.in_country("NL")
  #       m.query :find, 1..2**31 - 1           # Customer.find(3)
  #       m.query :count                        # Customer.active.count
  #     end
  #   end
  #
  # A spec is a Range of integers, a Regexp for strings (at most 100
  # characters) or an Array of allowed symbols. Scopes return a relation and
  # chain; a query ends the chain.
  class AllowList
    MAX_ROWS = 100
    MAX_STRING = 100

    Entry = Struct.new(:callable, :positional, :options, :chains)

    # Collects the methods of one model.
    class Model
      def initialize(klass, entries)
        @klass = klass
        @entries = entries
      end

      def scope(name, *positional, **options) = add(name, positional, options, chains: true)
      def query(name, *positional, **options) = add(name, positional, options, chains: false)

      private

      def add(name, positional, options, chains:)
        @entries[name.to_s] = Entry.new(@klass.method(name), positional, options, chains).freeze
      end
    end

    def initialize
      @models = {}
      yield self
      @models.freeze
    end

    def model(klass)
      entries = {}
      yield Model.new(klass, entries)
      @models[klass.name] = [klass, entries.freeze]
    end

    # Parses and checks the whole call before anything runs, then runs it.
    def call(text)
      call = Parser.parse(text)
      klass, entries = @models.fetch(call.constant) do
        raise Refused.new(-32_601, "constant not allowed: #{call.constant}")
      end
      plan = call.steps.each_with_index.map do |step, index|
        entry = entries[step.name]
        raise Refused.new(-32_601, "method not allowed: #{call.constant}.#{step.name}") unless entry
        if !entry.chains && index < call.steps.size - 1
          raise Refused.new(-32_601, "#{call.constant}.#{step.name} must end the call")
        end

        [entry.callable, *arguments(entry, step, "#{call.constant}.#{step.name}")]
      end
      run(klass, plan)
    end

    private

    def arguments(entry, step, label)
      unless step.args.size == entry.positional.size
        raise Refused.new(-32_602, "#{label} takes #{entry.positional.size} plain argument(s), got #{step.args.size}")
      end

      args = step.args.zip(entry.positional).map.with_index(1) do |(v, spec), i|
        check(v, spec, "argument #{i} of #{label}")
      end
      options = step.options.to_h do |key, value|
        name = entry.options.keys.find { |allowed| allowed.to_s == key }
        unless name
          raise Refused.new(-32_602,
                            "#{label} has no option #{key} (allowed: #{entry.options.keys.join(', ')})")
        end

        [name, check(value, entry.options[name], name)]
      end
      [args, options]
    end

    def check(value, spec, name)
      case spec
      when Range
        return value if value.is_a?(Integer) && spec.cover?(value)

        raise Refused.new(-32_602, "#{name} must be an integer #{spec}")
      when Regexp
        return value if value.is_a?(String) && value.length <= MAX_STRING && spec.match?(value)

        raise Refused.new(-32_602, "#{name} must be a string matching #{spec.inspect}")
      when Array
        allowed = spec.find { |symbol| value.is_a?(Sym) && symbol.to_s == value.name }
        return allowed if allowed

        raise Refused.new(-32_602, "#{name} must be one of #{spec.map(&:inspect).join(', ')}")
      end
    end

    def run(klass, plan)
      value = plan.reduce(klass) do |receiver, (callable, args, options)|
        # The methods are bound to the model class; scoping applies the
        # relation built so far, as Customer.active.count would.
        receiver.equal?(klass) ? callable.call(*args, **options) : receiver.scoping { callable.call(*args, **options) }
      end
      serialize(value)
    rescue ActiveRecord::RecordNotFound => e
      raise Refused.new(404, e.message)
    end

    def serialize(value)
      case value
      when ActiveRecord::Relation
        value = value.limit(MAX_ROWS) unless value.limit_value&.<=(MAX_ROWS)
        value.map(&:as_json)
      when ActiveRecord::Base then value.as_json
      when Integer, String, true, false, nil then value
      else raise Refused.new(-32_603, "cannot return a #{value.class}")
      end
    end
  end
end
