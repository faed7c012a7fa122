--[=[ tools/luadata.lua: writes a Lua value as Lua source, the same way every time.

  local luadata = require "luadata"       -- with tools/ on package.path
  local text = luadata.emit(value)        -- "{ ... }", no trailing newline
  local value = luadata.load(path)        -- a data file's value (loaded with an empty environment)
  luadata.write(path, text)               -- replaces the file at once; "-" is standard output
  local keys = luadata.sorted_keys(t)     -- a table's keys in a fixed order

Used by the model generators (tools/gen-facts.lua, tools/gen-model.lua, tools/gen-apidoc.lua) for
every file they write, so that regenerating gives the same bytes. Keys come in a fixed order
(KEY_ORDER, then sorted); a table of scalars goes on one line; multi-line strings go in long
brackets. The output is Lua 5.1 and 5.4 syntax (LuaJIT loads it). Strings, integers, booleans and
tables only.
]=]

local M = {}

-- The model's keys in the order a reader expects them; any other key follows, sorted.
local KEY_ORDER = {}
for i, k in ipairs({
  "service", "version", "seed", "scalars", "endpoint", "path", "category", "purpose", "rate_limit", "readonly",
  "value", "label", "name", "type", "legacy_type", "struct", "array", "required", "nullable", "from_example",
  "default", "enum", "doc", "line", "input", "output", "fields", "paging", "values", "example", "request",
  "response", "actions", "structs", "enums", "legacy",
  -- paging facts
  "offset", "offset_type", "limit", "limit_type", "total", "list", "group_items", "max_page_size",
  "default_page_size",
}) do KEY_ORDER[k] = i end

local function key_less(a, b)
  if type(a) ~= type(b) then return type(a) == "number" end
  if type(a) == "number" then return a < b end
  local ra, rb = KEY_ORDER[a] or math.huge, KEY_ORDER[b] or math.huge
  if ra ~= rb then return ra < rb end
  return a < b
end

local function is_ident(s) return type(s) == "string" and s:match("^[%a_][%w_]*$") ~= nil end

local function quote(s)
  if s:find("\n", 1, true) and not s:find("[\0-\8\11-\31\127]") then
    -- a multi-line text (an example) reads best in long brackets
    local eq = ""
    while (s .. "]" .. eq .. "]"):find("]" .. eq .. "]", 1, true) <= #s do eq = eq .. "=" end
    return "[" .. eq .. "[\n" .. s .. "]" .. eq .. "]"
  end
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == "\n" then return "\\n" elseif c == "\t" then return "\\t" elseif c == '"' then return '\\"'
    elseif c == "\\" then return "\\\\" end
    return ("\\%03d"):format(c:byte())
  end) .. '"'
end
M.quote = quote

local function key_text(k)
  if is_ident(k) then return k end
  if type(k) == "number" then return ("[%d]"):format(k) end
  return "[" .. quote(k) .. "]"
end

local function emit_value(v, indent, out)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = quote(v)
  elseif t == "number" then
    if math.type(v) ~= "integer" then error("non-integer number in the model") end
    out[#out + 1] = ("%d"):format(v)
  elseif t == "boolean" then
    out[#out + 1] = tostring(v)
  elseif t == "table" then
    -- a sequence 1..n is written as a list; a table with other integer keys ([0], holes) names
    -- every key, so that the layout never depends on what # makes of it
    local n = #v
    for k in pairs(v) do
      if math.type(k) == "integer" and (k < 1 or k > n) then n = 0 end
    end
    local keys = {}
    for k in pairs(v) do
      if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
    end
    table.sort(keys, key_less)
    -- a field (a table of scalars) goes on one line; everything else one entry per line
    local flat = true
    for _, x in pairs(v) do
      if type(x) == "table" or (type(x) == "string" and x:find("\n", 1, true)) then flat = false end
    end
    if next(v) == nil then
      out[#out + 1] = "{}"
      return
    end
    if flat and n == 0 then
      out[#out + 1] = "{ "
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = ", " end
        out[#out + 1] = key_text(k) .. " = "
        emit_value(v[k], indent, out)
      end
      out[#out + 1] = " }"
      return
    end
    if flat and #keys == 0 then
      out[#out + 1] = "{ "
      for i = 1, n do
        if i > 1 then out[#out + 1] = ", " end
        emit_value(v[i], indent, out)
      end
      out[#out + 1] = " }"
      return
    end
    local inner = indent .. "  "
    out[#out + 1] = "{\n"
    for i = 1, n do
      out[#out + 1] = inner
      emit_value(v[i], inner, out)
      out[#out + 1] = ",\n"
    end
    for _, k in ipairs(keys) do
      out[#out + 1] = inner
      out[#out + 1] = key_text(k)
      out[#out + 1] = " = "
      emit_value(v[k], inner, out)
      out[#out + 1] = ",\n"
    end
    out[#out + 1] = indent .. "}"
  else
    error("cannot emit a " .. t)
  end
end

--- emit(value [, indent]) -> Lua source of value
function M.emit(value, indent)
  local out = {}
  emit_value(value, indent or "", out)
  return table.concat(out)
end

--- sorted_keys(t) -> t's keys: numbers first, ascending, then strings, ascending. The generators
--- walk every table through it, so that what they write and report never depends on the order of
--- pairs.
function M.sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if type(a) == type(b) then return a < b end
    return type(a) == "number"
  end)
  return keys
end

--- load(path) -> the value a data file returns | nil, err
function M.load(path)
  local chunk, err = loadfile(path, "t", {})
  if not chunk then return nil, err end
  local ok, value = pcall(chunk)
  if not ok or type(value) ~= "table" then return nil, path .. ": does not return a table" end
  return value
end

--- write(path, text): replaces the file at once (a temporary file, then a rename); "-" is stdout.
function M.write(path, text)
  if path == "-" then
    io.stdout:write(text)
    return
  end
  local f = assert(io.open(path .. ".tmp", "wb"))
  f:write(text)
  f:close()
  assert(os.rename(path .. ".tmp", path))
end

return M
