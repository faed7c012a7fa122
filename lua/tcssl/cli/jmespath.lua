-- tcssl.cli.jmespath: JMESPath expressions (https://jmespath.org/specification.html), what
-- `tcssl --filter` and tccli's --filter take:
--
--   local jmespath = require "tcssl.cli.jmespath"
--   local value, err = jmespath.search("Certificates[?Status == `1`].CertificateId", response)
--   local ast, err = jmespath.compile(expression)    -- then jmespath.evaluate(ast, value)
--
-- Values are tcssl.json's: tables (arrays carry json.array's marker, or are non-empty
-- sequences), strings, numbers, booleans; JSON null is nil. Results that are arrays are made
-- with json.array, so that they print as arrays. A syntax error, an unknown function or a
-- function given the wrong types is `nil, message`, never a raise.
--
-- The whole grammar: identifiers (bare and "quoted"), sub-expressions, index and slice
-- ([N], [-N], [a:b:c]), projections ([*], .*, [], filter [?...]), pipes, multiselect lists and
-- hashes, comparisons, ||, &&, !, literals (`json`, 'raw'), @, &expression references, and the
-- built-in functions of the specification.
local json = require "tcssl.json"

local M = {}

local null = json.null
local floor = math.floor
local unpack = rawget(table, "unpack") or rawget(_G, "unpack") -- Lua 5.4, LuaJIT

-------------------------------------------------------------------------------
-- Values
-------------------------------------------------------------------------------

local function is_array(v)
  return type(v) == "table" and json.is_list(v)
end

local function is_object(v)
  return type(v) == "table" and not json.is_list(v)
end

local function len(t)
  -- a decoded array may have holes where nulls were: count to its largest index
  local n = #t
  for k in pairs(t) do
    if type(k) == "number" and k > n then n = k end
  end
  return n
end

local function type_of(v)
  if v == nil or v == null then return "null" end
  local t = type(v)
  if t == "table" then return is_array(v) and "array" or "object" end
  if t == "string" and json.is_number(v) then return "number" end
  return t
end

local function truthy(v)
  if v == nil or v == null or v == false or v == "" then return false end
  if type(v) == "table" then return next(v) ~= nil end
  return true
end

local function equal(a, b)
  if a == null then a = nil end
  if b == null then b = nil end
  local ta, tb = type_of(a), type_of(b)
  if ta ~= tb then return false end
  if ta == "array" then
    local n = len(a)
    if n ~= len(b) then return false end
    for i = 1, n do
      if not equal(a[i], b[i]) then return false end
    end
    return true
  elseif ta == "object" then
    for k, v in pairs(a) do
      if not equal(v, b[k]) then return false end
    end
    for k in pairs(b) do
      if a[k] == nil then return false end
    end
    return true
  end
  return a == b
end

local function fail(message)
  error({ jmespath = message }, 0)
end

-------------------------------------------------------------------------------
-- Lexer
-------------------------------------------------------------------------------

local SIMPLE = {
  ["."] = "dot", ["*"] = "star", ["@"] = "current", ["]"] = "rbracket", ["{"] = "lbrace",
  ["}"] = "rbrace", ["("] = "lparen", [")"] = "rparen", [","] = "comma", [":"] = "colon",
}

local function lex(text)
  local tokens, i, n = {}, 1, #text
  local function push(t, value, at) tokens[#tokens + 1] = { type = t, value = value, at = at } end
  while i <= n do
    local c = text:sub(i, i)
    if c:find("^%s") then
      i = i + 1
    elseif c:find("^[%a_]") then
      local word = text:match("^[%w_]+", i)
      push("identifier", word, i)
      i = i + #word
    elseif SIMPLE[c] then
      push(SIMPLE[c], c, i)
      i = i + 1
    elseif c == "[" then
      local two = text:sub(i, i + 1)
      if two == "[]" then
        push("flatten", two, i)
        i = i + 2
      elseif two == "[?" then
        push("filter", two, i)
        i = i + 2
      else
        push("lbracket", c, i)
        i = i + 1
      end
    elseif c:find("^[%-%d]") then
      local digits = text:match("^%-?%d+", i)
      if not digits then fail(("a number needs digits at %d"):format(i)) end
      push("number", tonumber(digits), i)
      i = i + #digits
    elseif c == '"' or c == "'" or c == "`" then
      local j, buf = i + 1, {}
      while true do
        local ch = text:sub(j, j)
        if ch == "" then fail(("unterminated %s at %d"):format(c, i)) end
        if ch == "\\" then
          local nxt = text:sub(j + 1, j + 1)
          if c ~= '"' and nxt == c then
            buf[#buf + 1] = c
          else
            buf[#buf + 1] = ch .. nxt
          end
          j = j + 2
        elseif ch == c then
          break
        else
          buf[#buf + 1] = ch
          j = j + 1
        end
      end
      local body = table.concat(buf)
      if c == '"' then
        local s = json.decode('"' .. body .. '"')
        if type(s) ~= "string" then fail(("invalid quoted identifier at %d"):format(i)) end
        push("quoted", s, i)
      elseif c == "'" then
        push("literal", body, i)
      else
        local v, err = json.decode(body)
        if err then fail(("invalid JSON literal at %d: %s"):format(i, err)) end
        if v == null then v = nil end
        push("literal", v, i)
      end
      i = j + 1
    else
      local two = text:sub(i, i + 1)
      local op = ({ ["||"] = "or", ["&&"] = "and", ["=="] = "eq", ["!="] = "ne", ["<="] = "lte", [">="] = "gte" })[two]
      if op then
        push(op, two, i)
        i = i + 2
      else
        op = ({ ["|"] = "pipe", ["&"] = "expref", ["!"] = "not", ["<"] = "lt", [">"] = "gt" })[c]
        if not op then fail(("unexpected %q at %d"):format(c, i)) end
        push(op, c, i)
        i = i + 1
      end
    end
  end
  push("eof", nil, n + 1)
  return tokens
end

-------------------------------------------------------------------------------
-- Parser (top-down operator precedence, the binding powers of the specification)
-------------------------------------------------------------------------------

local BP = {
  eof = 0, identifier = 0, quoted = 0, literal = 0, rbracket = 0, rparen = 0, comma = 0, rbrace = 0,
  number = 0, current = 0, expref = 0, colon = 0,
  pipe = 1, ["or"] = 2, ["and"] = 3, eq = 5, ne = 5, lt = 5, lte = 5, gt = 5, gte = 5,
  flatten = 9, star = 20, filter = 21, dot = 40, ["not"] = 45, lbrace = 50, lbracket = 55, lparen = 60,
}

local COMPARATORS = { eq = true, ne = true, lt = true, lte = true, gt = true, gte = true }
local PROJECTION_STOP = 10

local Parser = {}
Parser.__index = Parser

function Parser:peek(k)
  return self.tokens[self.pos + (k or 0)] or self.tokens[#self.tokens]
end

function Parser:next()
  local t = self:peek()
  self.pos = self.pos + 1
  return t
end

function Parser:expect(kind)
  local t = self:next()
  if t.type ~= kind then
    fail(("expected %s at %d, found %s"):format(kind, t.at, t.value ~= nil and tostring(t.value) or t.type))
  end
  return t
end

function Parser:expression(rbp)
  local left = self:nud(self:next())
  while rbp < BP[self:peek().type] do
    left = self:led(self:next(), left)
  end
  return left
end

-- What follows a projection: the expression applied to each element.
function Parser:projection_rhs(bp)
  local t = self:peek().type
  if BP[t] < PROJECTION_STOP then return { type = "identity" } end
  if t == "lbracket" or t == "filter" then return self:expression(bp) end
  if t == "dot" then
    self:next()
    return self:dot_rhs(bp)
  end
  fail(("unexpected %s at %d after a projection"):format(t, self:peek().at))
end

function Parser:dot_rhs(bp)
  local t = self:peek().type
  if t == "identifier" or t == "quoted" or t == "star" then return self:expression(bp) end
  if t == "lbracket" then
    self:next()
    return self:multiselect_list()
  end
  if t == "lbrace" then
    self:next()
    return self:multiselect_hash()
  end
  fail(("expected a name, *, [ or { after . at %d"):format(self:peek().at))
end

function Parser:multiselect_list()
  local items = {}
  repeat
    items[#items + 1] = self:expression(0)
  until self:peek().type ~= "comma" or not self:next()
  self:expect("rbracket")
  return { type = "multi_list", items = items }
end

function Parser:multiselect_hash()
  local pairs_ = {}
  repeat
    local key = self:next()
    if key.type ~= "identifier" and key.type ~= "quoted" then fail(("expected a key at %d"):format(key.at)) end
    self:expect("colon")
    pairs_[#pairs_ + 1] = { key = key.value, value = self:expression(0) }
  until self:peek().type ~= "comma" or not self:next()
  self:expect("rbrace")
  return { type = "multi_hash", pairs = pairs_ }
end

-- [N], [a:b:c] or [*] after the "[".
function Parser:bracket()
  local t = self:peek().type
  if t == "star" and self:peek(1).type == "rbracket" then
    self:next()
    self:next()
    return { type = "projection", left = { type = "identity" }, right = self:projection_rhs(BP.star) }
  end
  local parts, part = {}, 1
  while self:peek().type ~= "rbracket" do
    local tok = self:next()
    if tok.type == "colon" then
      part = part + 1
      if part > 3 then fail(("too many colons in a slice at %d"):format(tok.at)) end
    elseif tok.type == "number" then
      parts[part] = tok.value
    else
      fail(("expected a number, : or ] at %d"):format(tok.at))
    end
  end
  self:expect("rbracket")
  if part == 1 then
    if parts[1] == nil then fail("empty brackets need * or an index") end
    return { type = "index", index = parts[1] }
  end
  if parts[3] == 0 then fail("a slice's step cannot be 0") end
  return { type = "projection", left = { type = "slice", start = parts[1], stop = parts[2], step = parts[3] },
    right = self:projection_rhs(BP.star) }
end

function Parser:nud(tok)
  local t = tok.type
  if t == "identifier" or t == "quoted" then
    if t == "quoted" and self:peek().type == "lparen" then fail("a quoted name cannot be a function") end
    return { type = "field", name = tok.value }
  elseif t == "literal" then
    return { type = "literal", value = tok.value }
  elseif t == "current" then
    return { type = "identity" }
  elseif t == "star" then
    return { type = "value_projection", left = { type = "identity" }, right = self:projection_rhs(BP.star) }
  elseif t == "flatten" then
    return { type = "projection", left = { type = "flatten", child = { type = "identity" } },
      right = self:projection_rhs(BP.flatten) }
  elseif t == "filter" then
    return self:led(tok, { type = "identity" })
  elseif t == "lbracket" then
    local nt, nt1 = self:peek().type, self:peek(1).type
    if nt == "number" or nt == "colon" or (nt == "star" and nt1 == "rbracket") then
      local node = self:bracket()
      if node.type == "index" then return { type = "sub", left = { type = "identity" }, right = node } end
      return node
    end
    return self:multiselect_list()
  elseif t == "lbrace" then
    return self:multiselect_hash()
  elseif t == "lparen" then
    local e = self:expression(0)
    self:expect("rparen")
    return e
  elseif t == "not" then
    return { type = "not", child = self:expression(BP["not"]) }
  elseif t == "expref" then
    return { type = "expref", child = self:expression(BP.expref) }
  end
  fail(("unexpected %s at %d"):format(tok.value ~= nil and tostring(tok.value) or t, tok.at))
end

function Parser:led(tok, left)
  local t = tok.type
  if t == "dot" then
    if self:peek().type == "star" then
      self:next()
      return { type = "value_projection", left = left, right = self:projection_rhs(BP.star) }
    end
    return { type = "sub", left = left, right = self:dot_rhs(BP.dot) }
  elseif t == "pipe" then
    return { type = "pipe", left = left, right = self:expression(BP.pipe) }
  elseif t == "or" or t == "and" then
    return { type = t, left = left, right = self:expression(BP[t]) }
  elseif COMPARATORS[t] then
    return { type = "compare", op = t, left = left, right = self:expression(BP[t]) }
  elseif t == "flatten" then
    return { type = "projection", left = { type = "flatten", child = left }, right = self:projection_rhs(BP.flatten) }
  elseif t == "filter" then
    local cond = self:expression(0)
    self:expect("rbracket")
    return { type = "filter_projection", left = left, condition = cond, right = self:projection_rhs(BP.filter) }
  elseif t == "lbracket" then
    local node = self:bracket()
    if node.type == "index" then return { type = "sub", left = left, right = node } end
    node.left = node.left.type == "identity" and left or { type = "sub", left = left, right = node.left }
    return node
  elseif t == "lparen" then
    if left.type ~= "field" then fail(("only a name can be called, at %d"):format(tok.at)) end
    local args = {}
    while self:peek().type ~= "rparen" do
      args[#args + 1] = self:expression(0)
      if self:peek().type == "comma" then self:next() end
    end
    self:expect("rparen")
    return { type = "call", name = left.name, args = args }
  end
  fail(("unexpected %s at %d"):format(tok.value ~= nil and tostring(tok.value) or t, tok.at))
end

-------------------------------------------------------------------------------
-- Functions
-------------------------------------------------------------------------------

local function want(name, v, ...)
  local t = type_of(v)
  for i = 1, select("#", ...) do
    if select(i, ...) == t then return v end
  end
  fail(("%s: an argument is %s, not %s"):format(name, t, table.concat({ ... }, " or ")))
end

local function list_of(name, v, element)
  want(name, v, "array")
  for i = 1, len(v) do want(name, v[i], element) end
  return v
end

local function array_from(t) return json.array(t) end

-- Sorts a copy of list by key(element), which must give all numbers or all strings.
local function sorted(name, list, key)
  local items, kind = {}, nil
  for i = 1, len(list) do
    local k = key(list[i])
    local t = want(name, k, "number", "string") and type_of(k)
    if kind and t ~= kind then fail(name .. ": mixed numbers and strings") end
    kind = t
    items[i] = { k = k, v = list[i], i = i }
  end
  table.sort(items, function(a, b)
    if a.k == b.k then return a.i < b.i end
    return a.k < b.k
  end)
  local out = {}
  for i, item in ipairs(items) do out[i] = item.v end
  return array_from(out)
end

local function extreme(name, list, key, better)
  local best, best_key
  for i = 1, len(list) do
    local k = want(name, key(list[i]), "number", "string")
    if best_key ~= nil and type_of(k) ~= type_of(best_key) then fail(name .. ": mixed numbers and strings") end
    if best_key == nil or better(k, best_key) then best, best_key = list[i], k end
  end
  return best
end

local function less(a, b) return a < b end
local function more(a, b) return a > b end
local function identity(v) return v end

local FUNCTIONS = {
  abs = { 1, function(n) return math.abs(want("abs", n, "number")) end },
  avg = { 1, function(l)
    list_of("avg", l, "number")
    if len(l) == 0 then return nil end
    local s = 0
    for i = 1, len(l) do s = s + l[i] end
    return s / len(l)
  end },
  ceil = { 1, function(n) return math.ceil(want("ceil", n, "number")) end },
  contains = { 2, function(subject, search)
    if type_of(subject) == "string" then
      return type(search) == "string" and subject:find(search, 1, true) ~= nil
    end
    want("contains", subject, "array")
    for i = 1, len(subject) do
      if equal(subject[i], search) then return true end
    end
    return false
  end },
  ends_with = { 2, function(s, suffix)
    want("ends_with", s, "string")
    want("ends_with", suffix, "string")
    return suffix == "" or s:sub(-#suffix) == suffix
  end },
  floor = { 1, function(n) return floor(want("floor", n, "number")) end },
  join = { 2, function(glue, l)
    want("join", glue, "string")
    list_of("join", l, "string")
    return table.concat(l, glue)
  end },
  keys = { 1, function(o)
    want("keys", o, "object")
    local out = {}
    for k in pairs(o) do out[#out + 1] = k end
    table.sort(out)
    return array_from(out)
  end },
  length = { 1, function(v)
    want("length", v, "string", "array", "object")
    if type(v) == "string" then
      local n = 0
      for _ in v:gmatch("[^\128-\191]") do n = n + 1 end
      return n
    end
    if is_array(v) then return len(v) end
    local n = 0
    for _ in pairs(v) do n = n + 1 end
    return n
  end },
  map = { 2, function(ref, l, eval)
    want("map", l, "array")
    local out = {}
    for i = 1, len(l) do out[i] = eval(ref, l[i]) end
    return array_from(out)
  end, expref = 1 },
  max = { 1, function(l) return extreme("max", want("max", l, "array"), identity, more) end },
  max_by = { 2, function(l, ref, eval)
    return extreme("max_by", want("max_by", l, "array"), function(v) return eval(ref, v) end, more)
  end, expref = 2 },
  merge = { -1, function(...)
    local out = {}
    for i = 1, select("#", ...) do
      for k, v in pairs(want("merge", (select(i, ...)), "object")) do out[k] = v end
    end
    return out
  end },
  min = { 1, function(l) return extreme("min", want("min", l, "array"), identity, less) end },
  min_by = { 2, function(l, ref, eval)
    return extreme("min_by", want("min_by", l, "array"), function(v) return eval(ref, v) end, less)
  end, expref = 2 },
  not_null = { -1, function(...)
    for i = 1, select("#", ...) do
      local v = select(i, ...)
      if v ~= nil and v ~= null then return v end
    end
    return nil
  end },
  reverse = { 1, function(v)
    want("reverse", v, "string", "array")
    if type(v) == "string" then
      local chars = {}
      for ch in v:gmatch("[%z\1-\127\194-\244][\128-\191]*") do table.insert(chars, 1, ch) end
      return table.concat(chars)
    end
    local out, n = {}, len(v)
    for i = 1, n do out[i] = v[n - i + 1] end
    return array_from(out)
  end },
  sort = { 1, function(l) return sorted("sort", want("sort", l, "array"), identity) end },
  sort_by = { 2, function(l, ref, eval)
    return sorted("sort_by", want("sort_by", l, "array"), function(v) return eval(ref, v) end)
  end, expref = 2 },
  starts_with = { 2, function(s, prefix)
    want("starts_with", s, "string")
    want("starts_with", prefix, "string")
    return s:sub(1, #prefix) == prefix
  end },
  sum = { 1, function(l)
    list_of("sum", l, "number")
    local s = 0
    for i = 1, len(l) do s = s + l[i] end
    return s
  end },
  to_array = { 1, function(v)
    if is_array(v) then return v end
    return array_from{ v }
  end },
  to_number = { 1, function(v)
    if type_of(v) == "number" then return v end
    if type(v) == "string" then return tonumber(v) end
    return nil
  end },
  to_string = { 1, function(v)
    if type(v) == "string" then return v end
    return (json.encode(v == nil and null or v))
  end },
  type = { 1, function(v) return type_of(v) end },
  values = { 1, function(o)
    want("values", o, "object")
    local ks = {}
    for k in pairs(o) do ks[#ks + 1] = k end
    table.sort(ks)
    local out = {}
    for i, k in ipairs(ks) do out[i] = o[k] end
    return array_from(out)
  end },
}

-------------------------------------------------------------------------------
-- Evaluation
-------------------------------------------------------------------------------

local eval

local function slice(v, start, stop, step)
  if type(v) ~= "table" or not is_array(v) then return nil end
  local n = len(v)
  step = step or 1
  local function clamp(x, default)
    if x == nil then return default end
    if x < 0 then
      x = x + n
      if x < 0 then x = step < 0 and -1 or 0 end
    elseif x >= n then
      x = step < 0 and n - 1 or n
    end
    return x
  end
  local first = clamp(start, step < 0 and n - 1 or 0)
  local last = clamp(stop, step < 0 and -1 or n)
  local out = {}
  local i = first
  while (step > 0 and i < last) or (step < 0 and i > last) do
    out[#out + 1] = v[i + 1]
    i = i + step
  end
  return array_from(out)
end

local function project(list, node)
  local out = {}
  for i = 1, len(list) do
    local r = eval(node, list[i])
    if r ~= nil and r ~= null then out[#out + 1] = r end
  end
  return array_from(out)
end

local function compare(op, a, b)
  if op == "eq" then return equal(a, b) end
  if op == "ne" then return not equal(a, b) end
  if type_of(a) ~= "number" or type_of(b) ~= "number" then return nil end
  a, b = tonumber(tostring(a)), tonumber(tostring(b))
  if op == "lt" then return a < b elseif op == "lte" then return a <= b elseif op == "gt" then return a > b end
  return a >= b
end

function eval(node, v)
  local t = node.type
  if v == null then v = nil end
  if t == "identity" then
    return v
  elseif t == "field" then
    if is_object(v) then return v[node.name] end
    return nil
  elseif t == "literal" then
    return node.value
  elseif t == "sub" then
    local left = eval(node.left, v)
    if left == nil then return nil end
    return eval(node.right, left)
  elseif t == "index" then
    if not is_array(v) then return nil end
    local i = node.index
    if i < 0 then i = len(v) + i end
    return v[i + 1]
  elseif t == "slice" then
    return slice(v, node.start, node.stop, node.step)
  elseif t == "projection" then
    local base = eval(node.left, v)
    if not is_array(base) then return nil end
    return project(base, node.right)
  elseif t == "value_projection" then
    local base = eval(node.left, v)
    if not is_object(base) then return nil end
    local keys = {}
    for k in pairs(base) do keys[#keys + 1] = k end
    table.sort(keys)
    local values = {}
    for i, k in ipairs(keys) do values[i] = base[k] end
    return project(values, node.right)
  elseif t == "filter_projection" then
    local base = eval(node.left, v)
    if not is_array(base) then return nil end
    local kept = {}
    for i = 1, len(base) do
      if truthy(eval(node.condition, base[i])) then kept[#kept + 1] = base[i] end
    end
    return project(kept, node.right)
  elseif t == "flatten" then
    local base = eval(node.child, v)
    if not is_array(base) then return nil end
    local out = {}
    for i = 1, len(base) do
      local e = base[i]
      if is_array(e) then
        for j = 1, len(e) do out[#out + 1] = e[j] end
      elseif e ~= nil and e ~= null then
        out[#out + 1] = e
      end
    end
    return array_from(out)
  elseif t == "pipe" then
    return eval(node.right, eval(node.left, v))
  elseif t == "multi_list" then
    if v == nil then return nil end
    local out = {}
    for i, item in ipairs(node.items) do
      local r = eval(item, v)
      out[i] = r == nil and null or r
    end
    return array_from(out)
  elseif t == "multi_hash" then
    if v == nil then return nil end
    local out = {}
    for _, p in ipairs(node.pairs) do
      local r = eval(p.value, v)
      out[p.key] = r == nil and null or r
    end
    return out
  elseif t == "or" then
    local left = eval(node.left, v)
    if truthy(left) then return left end
    return eval(node.right, v)
  elseif t == "and" then
    local left = eval(node.left, v)
    if not truthy(left) then return left end
    return eval(node.right, v)
  elseif t == "not" then
    return not truthy(eval(node.child, v))
  elseif t == "compare" then
    return compare(node.op, eval(node.left, v), eval(node.right, v))
  elseif t == "expref" then
    return { expref = node.child }
  elseif t == "call" then
    local f = FUNCTIONS[node.name]
    if not f then fail("unknown function " .. node.name .. "()") end
    local arity, fn, ref_at = f[1], f[2], f.expref
    local n = #node.args
    if (arity >= 0 and n ~= arity) or (arity < 0 and n < 1) then
      fail(("%s() takes %s argument(s), not %d"):format(node.name, arity >= 0 and arity or "1 or more", n))
    end
    local args = {}
    for i, a in ipairs(node.args) do
      if i == ref_at then
        if a.type ~= "expref" then fail(node.name .. "() needs an &expression") end
        args[i] = a.child
      else
        local r = eval(a, v)
        args[i] = r == null and nil or r
      end
    end
    if ref_at then
      args[n + 1] = eval
      return fn(unpack(args, 1, n + 1))
    end
    return fn(unpack(args, 1, n))
  end
  fail("unknown node " .. tostring(t))
end

--- compile(expression) -> an expression tree, or nil, message.
function M.compile(expression)
  if type(expression) ~= "string" or expression == "" then return nil, "an empty expression" end
  local ok, res = pcall(function()
    local p = setmetatable({ tokens = lex(expression), pos = 1 }, Parser)
    local ast = p:expression(0)
    if p:peek().type ~= "eof" then fail(("unexpected %s at %d"):format(tostring(p:peek().value), p:peek().at)) end
    return ast
  end)
  if ok then return res end
  if type(res) == "table" and res.jmespath then return nil, res.jmespath end
  error(res, 0)
end

--- evaluate(ast, value) -> the result (nil for null), or nil, message.
function M.evaluate(ast, value)
  local ok, res = pcall(eval, ast, value)
  if ok then return res end
  if type(res) == "table" and res.jmespath then return nil, res.jmespath end
  error(res, 0)
end

--- search(expression, value) -> the result (nil for null), or nil, message.
function M.search(expression, value)
  local ast, err = M.compile(expression)
  if not ast then return nil, err end
  return M.evaluate(ast, value)
end

M.type_of = type_of

return M
