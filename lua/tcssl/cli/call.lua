-- tcssl.cli.call: `tcssl <Action> [--Param value ...] [--cli-input-json FILE]`: one call of an
-- API action, its parameters read from the words by the action's model, its response printed
-- as JSON (keys in the model's order) or as a table.

local json = require "tcssl.json"
local schema = require "tcssl.schema"
local output = require "tcssl.cli.output"

local M = {}

local HAS_INT = math.tointeger ~= nil -- luacheck: ignore 143 (Lua 5.3+ only, probed)

-- An Integer given as text (digits, an optional "-"): a Lua integer (5.4), or under LuaJIT a
-- number where a double holds it exactly and otherwise the digits, which tcssl.schema sends
-- as they are; nil outside int64.
local function integer_of(text)
  if HAS_INT then return math.tointeger(tonumber(text)) end -- luacheck: ignore 143
  local canonical = text:gsub("^(%-?)0+(%d)", "%1%2")
  if schema.beyond_double(canonical) then return canonical end
  local n = tonumber(text)
  if n >= -2 ^ 53 and n <= 2 ^ 53 then return n end
  return nil
end

local function element_value(ctx, f, text, name)
  local t = f.type
  if f.struct then
    local v, err = json.decode(text)
    if type(v) ~= "table" then
      ctx:usage_error(("--%s takes a JSON object (%s)"):format(name, err or "not an object"))
    end
    return v
  end
  if t == "Integer" then
    if not text:find("^%-?%d+$") then ctx:usage_error(("--%s takes an integer, not %q"):format(name, text)) end
    return integer_of(text) or ctx:usage_error(("--%s: %s is out of range"):format(name, text))
  elseif t == "Float" or t == "Double" then
    local n = tonumber(text)
    if not n then ctx:usage_error(("--%s takes a number, not %q"):format(name, text)) end
    return n
  elseif t == "Boolean" then
    if text == "true" then return true elseif text == "false" then return false end
    ctx:usage_error(("--%s takes true or false, not %q"):format(name, text))
  end
  local path = text:match("^file://(.+)$")
  if path then return ctx:read_file(path) end
  return text
end

-- The parameters of the words: --Name value, several values for an array (or one JSON array),
-- --Name=value.
local function parse_params(ctx, action_model, words)
  local fields = {}
  for _, f in ipairs(action_model.input) do fields[f.name] = f end
  local params = {}
  local i = 1
  while i <= #words do
    local w = words[i]
    local name, inline = w:match("^%-%-([%u][%w]*)=(.*)$")
    name = name or w:match("^%-%-([%u][%w]*)$")
    if not name then ctx:usage_error(("unexpected %q (parameters are --Name value)"):format(w)) end
    local f = fields[name]
    local values = {}
    if inline then values[1] = inline end
    while words[i + 1] ~= nil and not words[i + 1]:find("^%-%-%a") and (inline == nil) do
      values[#values + 1] = words[i + 1]
      i = i + 1
      if not (f and f.array) then break end
    end
    if #values == 0 then ctx:usage_error("--" .. name .. " needs a value") end
    if not f then
      params[name] = values[1] -- the client names the unknown parameter and suggests one
    elseif f.array then
      if #values == 1 and values[1]:find("^%s*%[") then
        local list, err = json.decode(values[1])
        if type(list) ~= "table" or not json.is_array(list) then
          ctx:usage_error(("--%s takes a JSON array (%s)"):format(name, err or "not an array"))
        end
        params[name] = list
      else
        local list = json.array()
        for k, v in ipairs(values) do list[k] = element_value(ctx, f, v, name) end
        params[name] = list
      end
    else
      if #values > 1 then ctx:usage_error("--" .. name .. " takes one value") end
      params[name] = element_value(ctx, f, values[1], name)
    end
    i = i + 1
  end
  return params
end

--- run(ctx, name, words) -> status: calls the action name.
function M.run(ctx, name, words)
  local a = schema.model().actions[name]
  if not a then
    local hint = schema.closest(name, schema.actions())
    ctx:usage_error(("unknown action or command %s%s"):format(name, hint and ("; did you mean " .. hint .. "?") or ""))
  end
  if ctx.opts.help then return require("tcssl.cli.help").action(ctx, name) end
  local format = ctx:output_format("json")
  local params = {}
  local input = ctx.opts["cli-input-json"]
  if input then
    local text = ctx:read_file(input, "--cli-input-json " .. input)
    local v, err = json.decode(text)
    if type(v) ~= "table" or json.is_array(v) then
      ctx:usage_error("--cli-input-json must hold a JSON object of parameters ("
        .. tostring(err or "not an object") .. ")")
    end
    params = v
  end
  for k, v in pairs(parse_params(ctx, a, words)) do params[k] = v end
  local client = ctx:client()
  local res, err = client:call(name, params)
  if not res then ctx:fail(err) end
  if format == "table" then
    output.print_table(ctx.out, res, a.output)
  else
    ctx:print_json(res, output.field_order(a.output))
  end
  return 0
end

return M
