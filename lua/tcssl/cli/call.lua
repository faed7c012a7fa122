-- tcssl.cli.call: `tcssl [ssl] <Action> [--Param value ...] [--cli-input-json [file://]FILE]`:
-- one call of an API action (or of the legacy 2017 API's CertGetList, CertUpload, CertDelete),
-- its parameters read from the words by the action's model, its response (or what --filter
-- selects of it) printed as JSON (keys in the model's order), a table or text.
-- `--generate-cli-skeleton` prints the action's parameters as a JSON object to fill in.

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
    local name, inline = w:match("^%-%-(%a[%w]*)=(.*)$")
    name = name or w:match("^%-%-(%a[%w]*)$")
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

-- A placeholder for a value of field f in a skeleton: the zero of its type, a struct's
-- fields (down to a few levels: some structs hold themselves), an array of one element.
local function placeholder(model, f, depth)
  local v
  if f.struct then
    v = {}
    local struct = model.structs[f.type]
    if struct and depth < 4 then
      for _, g in ipairs(struct.fields) do v[g.name] = placeholder(model, g, depth + 1) end
    end
  elseif f.type == "Integer" or f.type == "Float" or f.type == "Double" then
    v = 0
  elseif f.type == "Boolean" then
    v = false
  else
    v = ""
  end
  if f.array then return json.array{ v } end
  return v
end

-- The skeleton's key order: the model's, all the way down.
local function skeleton_order(model, fields, depth)
  local order = {}
  for i, f in ipairs(fields) do
    order[i] = f.name
    if f.struct and model.structs[f.type] and depth < 4 then
      order[f.name] = skeleton_order(model, model.structs[f.type].fields, depth + 1)
    end
  end
  return order
end

-- The action's model: { input, output, legacy, model } (legacy actions answer with their
-- envelope's data, described by the `data` field's struct), or nil.
local function find_action(name)
  local model = schema.model()
  local a = model.actions[name]
  if a then return { input = a.input, output = a.output, model = model } end
  local legacy = model.legacy
  a = legacy.actions[name]
  if not a then return nil end
  local fields = {}
  for _, f in ipairs(a.output) do
    if f.name == "data" and f.struct then fields = legacy.structs[f.type].fields end
  end
  return { input = a.input, output = fields, legacy = true, model = legacy }
end

--- legacy_actions() -> the names of the legacy 2017 API's actions, sorted.
function M.legacy_actions()
  local names = {}
  for name in pairs(schema.model().legacy.actions) do names[#names + 1] = name end
  table.sort(names)
  return names
end

-- `tcssl CertGetList --help`: the legacy action's parameters (the model has no descriptions
-- for them).
local function legacy_help(ctx, name, a)
  ctx.out:write(("%s: an action of the legacy 2017 API (%s%s, HmacSHA1 or HmacSHA256 signatures)\n\n"):format(name,
    a.model.endpoint, a.model.path))
  ctx.out:write(("usage: tcssl %s [--param value ...]\n\nparameters:\n"):format(name))
  for _, f in ipairs(a.input) do
    ctx.out:write(("  %-28s %-26s %s\n"):format("--" .. f.name, f.type, f.required and "required" or ""))
  end
  return 0
end

--- run(ctx, name, words) -> status: calls the action name.
function M.run(ctx, name, words)
  local a = find_action(name)
  if not a then
    local names = schema.actions()
    for _, n in ipairs(M.legacy_actions()) do names[#names + 1] = n end
    local hint = schema.closest(name, names)
    ctx:usage_error(("unknown action or command %s%s"):format(name, hint and ("; did you mean " .. hint .. "?") or ""))
  end
  if ctx.opts.help then
    if a.legacy then return legacy_help(ctx, name, a) end
    return require("tcssl.cli.help").action(ctx, name)
  end
  if ctx.opts["generate-cli-skeleton"] then
    local skeleton = {}
    for _, f in ipairs(a.input) do skeleton[f.name] = placeholder(a.model, f, 0) end
    ctx:print_json(skeleton, skeleton_order(a.model, a.input, 0))
    return 0
  end
  local format = ctx:output_format("json", true)
  local filter = ctx.opts.filter
  local ast
  if filter then
    local err
    ast, err = require("tcssl.cli.jmespath").compile(filter)
    if not ast then ctx:usage_error(("--filter %s: %s"):format(filter, err)) end
  end
  local params = {}
  local input = ctx.opts["cli-input-json"]
  if input then
    local path = input:match("^file://(.+)$") or input
    local text = ctx:read_file(path, "--cli-input-json " .. input)
    local v, err = json.decode(text)
    if type(v) ~= "table" or json.is_array(v) then
      ctx:usage_error("--cli-input-json must hold a JSON object of parameters ("
        .. tostring(err or "not an object") .. ")")
    end
    params = v
  end
  for k, v in pairs(parse_params(ctx, a, words)) do params[k] = v end
  local client = ctx:client(a.legacy)
  local res, err = client:call(name, params)
  if not res then ctx:fail(err) end
  if ast then
    local selected, ferr = require("tcssl.cli.jmespath").evaluate(ast, res)
    if ferr then ctx:usage_error(("--filter %s: %s"):format(filter, ferr)) end
    if format == "table" then
      output.print_value_table(ctx.out, selected)
    elseif format == "text" then
      output.print_text(ctx.out, selected)
    else
      ctx:print_json(selected == nil and json.null or selected)
    end
  elseif format == "table" then
    output.print_table(ctx.out, res, a.output, a.model)
  elseif format == "text" then
    output.print_text(ctx.out, res, output.field_order(a.output, a.model))
  else
    ctx:print_json(res, output.field_order(a.output, a.model))
  end
  return 0
end

return M
