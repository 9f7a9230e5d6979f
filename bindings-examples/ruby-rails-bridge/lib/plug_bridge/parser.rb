# frozen_string_literal: true

require 'strscan'

module PlugBridge
  # A call that does not fit the grammar. The column is 1-based.
  class ParseError < StandardError
    def initialize(column, message)
      super("parse error at column #{column}: #{message}")
    end
  end

  # Parsed form of a call such as `Customer.active(:limit => 10).count`.
  Call = Struct.new(:constant, :steps)
  # One `.name(args)` of the chain; `options` holds the `key => value` pairs.
  Step = Struct.new(:name, :args, :options)
  # A `:symbol` argument. It stays a name: the parser never makes Ruby symbols.
  Sym = Struct.new(:name)

  # Reads the small call language by hand, token by token; nothing in it is
  # ever handed to Ruby itself:
  #
  #   call     = constant ("." name [arguments])+
  #   constant = Constant ("::" Constant)*
  #   argument = value | :key "=>" value | key ":" value | "key" "=>" value
  #   value    = integer | 'string' | "string" | :symbol | true | false | nil
  class Parser
    MAX_LENGTH = 1000
    MAX_STEPS = 10
    MAX_ARGUMENTS = 10

    TOKENS = {
      label: /[a-z_][A-Za-z0-9_]*:(?!:)/,
      symbol: /:[A-Za-z_][A-Za-z0-9_]*/,
      constant: /[A-Z][A-Za-z0-9_]*/,
      name: /[a-z_][A-Za-z0-9_]*[?!]?/,
      integer: /-?[0-9]+(?:_[0-9]+)*(?![A-Za-z0-9_.])/,
      string: /"(?:[^"\\]|\\["\\nt])*"|'(?:[^'\\]|\\['\\])*'/,
      punct: /::|=>|[.(),]/
    }.freeze
    ESCAPES = { 'n' => "\n", 't' => "\t" }.freeze
    LITERALS = { 'true' => true, 'false' => false, 'nil' => nil }.freeze

    def self.parse(text)
      new(text).parse
    end

    def initialize(text)
      raise ParseError.new(1, 'the call must be a string') unless text.is_a?(String)
      raise ParseError.new(1, 'the call is not valid UTF-8') unless text.valid_encoding?

      if text.length > MAX_LENGTH
        raise ParseError.new(MAX_LENGTH + 1,
                             "the call is longer than #{MAX_LENGTH} characters")
      end

      @tokens = tokenize(text)
      @index = 0
    end

    def parse
      constant = [expect(:constant)]
      constant << expect(:constant) while accept('::')
      steps = []
      while accept('.')
        raise error("more than #{MAX_STEPS} calls in one chain") if steps.size == MAX_STEPS

        steps << step
      end
      raise error("expected '.', found #{describe(peek)}") if steps.empty?
      raise error("unexpected #{describe(peek)}") unless peek.first == :end

      Call.new(constant.join('::'), steps)
    end

    private

    def step
      name = expect(:name)
      args = []
      options = {}
      if accept('(')
        until accept(')')
          expect(',') unless args.empty? && options.empty?
          raise error("more than #{MAX_ARGUMENTS} arguments") if args.size + options.size == MAX_ARGUMENTS

          argument(args, options)
        end
      end
      Step.new(name, args, options)
    end

    def argument(args, options)
      type, text = peek
      if type == :label
        advance
        options[text.chomp(':')] = value
      elsif %i[symbol string].include?(type) && @tokens[@index + 1][1] == '=>'
        key = value
        key = key.name if key.is_a?(Sym)
        advance # the "=>"
        options[key] = value
      elsif options.empty?
        args << value
      else
        raise error('a plain argument cannot follow a key => value pair')
      end
    end

    def value
      type, text = advance
      case type
      when :integer then Integer(text.delete('_'), 10)
      when :string then text[1..-2].gsub(/\\(.)/) { ESCAPES.fetch(Regexp.last_match(1), Regexp.last_match(1)) }
      when :symbol then Sym.new(text[1..])
      when :name
        return LITERALS[text] if LITERALS.key?(text)

        raise error("unexpected #{text}", back: 1)
      else raise error("unexpected #{describe([type, text])}", back: 1)
      end
    end

    def tokenize(text)
      scanner = StringScanner.new(text)
      tokens = []
      until scanner.eos?
        next if scanner.skip(/[ \t]+/)

        column = scanner.charpos + 1
        type, = TOKENS.find { |_, pattern| scanner.scan(pattern) }
        raise ParseError.new(column, "unexpected #{scanner.peek(1).inspect.tr('"', "'")}") unless type

        tokens << [type, scanner.matched, column]
      end
      tokens << [:end, nil, text.length + 1]
    end

    def peek = @tokens[@index]

    def advance
      token = @tokens[@index]
      @index += 1 unless token.first == :end
      token
    end

    def accept(punct)
      return false unless peek[1] == punct && peek.first == :punct

      advance
    end

    def expect(kind)
      token = peek
      return advance[1] if token.first == kind || (token.first == :punct && token[1] == kind)

      expected = kind.is_a?(Symbol) ? kind.to_s : "'#{kind}'"
      raise error("expected #{expected}, found #{describe(token)}")
    end

    def describe(token)
      token.first == :end ? 'the end' : "'#{token[1]}'"
    end

    def error(message, back: 0)
      ParseError.new(@tokens[@index - back][2], message)
    end
  end
end
