#!/usr/bin/env lua5.4
--[=[ tools/gen-apidoc.lua: write docs/api.md from model/facts.lua (`make model`).

  lua5.4 tools/gen-apidoc.lua [FACTS [OUT]]

  FACTS  default model/facts.lua in the repository (tools/gen-facts.lua makes it)
  OUT    default docs/api.md in the repository; "-" = standard output

Per action: purpose, rate limit, read-only or not, the parameter table, the output fields and a
short Lua call built from the documents' example values; then every data structure, then the
legacy 2017 API. The output depends on the facts only (sorted, no timestamps).
]=]

-- The modules it shares with the other generators are found next to this script.
local tools = (arg and arg[0] or "tools/gen-apidoc.lua"):match("^(.*)/[^/]*$") or "."
package.path = tools .. "/?.lua;" .. package.path
local cjson = require "cjson.safe"
local luadata = require "luadata"

local sorted_keys = luadata.sorted_keys

local function anchor(name) return "#" .. name:lower() end

-- A Markdown table cell: one line, pipes escaped, no HTML.
local function cell(s)
  s = tostring(s or ""):gsub("[\r\n]+", " "):gsub("|", "\\|"):gsub("<", "&lt;"):gsub(">", "&gt;")
  return s
end

local function type_text(f, structs)
  local t = f.type
  if f.struct and structs[t] then t = ("[%s](%s)"):format(t, anchor(t)) end
  if f.array then t = "Array of " .. t end
  return t
end

local function notes_text(f)
  local parts = {}
  if f.nullable then parts[#parts + 1] = "May be null." end
  if f.enum then parts[#parts + 1] = ("Values: [%s](%s)."):format(f.enum, "#" .. f.enum:lower()) end
  if f.default ~= nil then parts[#parts + 1] = "Default: " .. tostring(f.default) .. "." end
  return table.concat(parts, " ")
end

local function field_table(out, fields, structs, with_required)
  if #fields == 0 then
    out[#out + 1] = "None.\n"
    return
  end
  if with_required then
    out[#out + 1] = "| Name | Type | Required | Description |\n|---|---|---|---|\n"
  else
    out[#out + 1] = "| Name | Type | Description |\n|---|---|---|\n"
  end
  for _, f in ipairs(fields) do
    local doc = f.doc or ""
    local extra = notes_text(f)
    if extra ~= "" then doc = (doc ~= "" and doc .. " " or "") .. "*" .. extra .. "*" end
    if f.example then doc = doc .. " Example: `" .. f.example:gsub("`", "'") .. "`" end
    if with_required then
      local req = f.required == true and "yes" or (f.required == false and "no" or "")
      out[#out + 1] = ("| %s | %s | %s | %s |\n"):format(f.name, type_text(f, structs), req, cell(doc))
    else
      out[#out + 1] = ("| %s | %s | %s |\n"):format(f.name, type_text(f, structs), cell(doc))
    end
  end
end

---------------------------------------------------------------------------------------------------
-- Lua call examples
---------------------------------------------------------------------------------------------------

local function lua_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == "\n" then return "\\n" elseif c == '"' then return '\\"' elseif c == "\\" then return "\\\\" end
    return ("\\%03d"):format(c:byte())
  end) .. '"'
end

local function scalar_literal(ty, example)
  if ty == "Integer" then
    local n = example and math.tointeger(tonumber(example))
    return tostring(n or 1)
  elseif ty == "Float" or ty == "Double" then
    local n = example and tonumber(example)
    return tostring(n or 1.5)
  elseif ty == "Boolean" then
    return example == "false" and "false" or "true"
  end
  local s = example or "example"
  if s:match('^".*"$') and type(cjson.decode(s)) == "string" then s = cjson.decode(s) end  -- "\"abc\""
  s = s:gsub("\\n", "\n")                  -- the documents write PEM line breaks as \n
  if #s > 60 then s = s:sub(1, 40):gsub("[\128-\255]*$", "") .. "..." end
  return lua_string(s)
end

local literal

-- The parameters worth showing: the required ones, or else the first two.
local function pick(fields)
  local chosen = {}
  for _, f in ipairs(fields) do
    if f.required then chosen[#chosen + 1] = f end
  end
  if #chosen == 0 then
    for i = 1, math.min(2, #fields) do chosen[#chosen + 1] = fields[i] end
  end
  return chosen
end

local function table_literal(fields, structs, depth)
  local parts = {}
  for _, f in ipairs(pick(fields)) do parts[#parts + 1] = f.name .. " = " .. literal(f, structs, depth) end
  if #parts == 0 then return "{}" end
  return "{ " .. table.concat(parts, ", ") .. " }"
end

function literal(f, structs, depth)
  local one
  if f.struct then
    one = depth < 2 and table_literal(structs[f.type].fields, structs, depth + 1) or "{}"
  elseif f.array and f.example then
    local list = cjson.decode(f.example)
    if type(list) == "table" and #list > 0 then
      local items = {}
      for i = 1, math.min(2, #list) do
        local v = list[i]
        local ex = type(v) == "string" and v or (type(v) == "number" or type(v) == "boolean") and tostring(v) or nil
        items[#items + 1] = scalar_literal(f.type, ex)
      end
      return "{ " .. table.concat(items, ", ") .. " }"
    end
    one = scalar_literal(f.type, nil)
  else
    one = scalar_literal(f.type, f.example)
  end
  if f.array then return "{ " .. one .. " }" end
  return one
end

local function call_example(name, a, structs, receiver)
  local args = table_literal(a.input, structs, 0)
  local lines = { ("local res, err = %s:%s%s"):format(receiver, name, args == "{}" and "{}" or args) }
  lines[#lines + 1] = "if not res then error(tostring(err)) end"
  for _, f in ipairs(a.output) do
    if f.name ~= "RequestId" then
      lines[#lines + 1] = ("print(res.%s)"):format(f.name)
      break
    end
  end
  return "```lua\n" .. table.concat(lines, "\n") .. "\n```\n"
end

---------------------------------------------------------------------------------------------------
-- The page
---------------------------------------------------------------------------------------------------

local function render(model)
  local out = {}
  local function w(...) for _, s in ipairs({ ... }) do out[#out + 1] = s end end
  local structs, actions = model.structs, model.actions
  local names = sorted_keys(actions)
  local struct_names = sorted_keys(structs)

  w("# tcssl API reference\n\n")
  w("<!-- Generated by tools/gen-apidoc.lua from model/facts.lua; do not edit: run `make model`. -->\n\n")
  w(("Service `%s`, API 3.0 version %s: %d actions and %d data structures, plus the legacy 2017 API "
    .. "(%d actions). Every action is a method of a client: `client:<Action>(params)` returns the "
    .. "fields of the API's `Response` object, or `nil, err`. Descriptions are the documents' own "
    .. "(in Chinese), shortened to 200 characters; the model and how it is made are described in "
    .. "[model-notes.md](model-notes.md).\n\n"):format(model.service, model.version, #names, #struct_names,
    #sorted_keys(model.legacy.actions)))
  w("Scalar types: ", table.concat(model.scalars, ", "), ". `Array of X` is a JSON array (a Lua sequence); ",
    "a data structure is a JSON object (a Lua table with those fields). Read-only actions only read state.\n\n")

  -- contents, by the overview's categories
  local by_category, categories = {}, {}
  for _, name in ipairs(names) do
    local c = actions[name].category or "Other"
    if not by_category[c] then
      by_category[c] = {}
      categories[#categories + 1] = c
    end
    table.insert(by_category[c], name)
  end
  table.sort(categories)
  w("## Contents\n\n")
  for _, c in ipairs(categories) do
    w("**", c, "**\n\n")
    for _, name in ipairs(by_category[c]) do
      local a = actions[name]
      w(("- [%s](%s): %s (%d/s%s)\n"):format(name, anchor(name), cell(a.purpose), a.rate_limit,
        a.readonly and ", read-only" or ""))
    end
    w("\n")
  end
  w("Also: [Data structures](#data-structures), [Status values](#status-values), "
    .. "[Legacy API 2017](#legacy-api-2017).\n\n")

  w("## Actions\n\n")
  for _, name in ipairs(names) do
    local a = actions[name]
    w("### ", name, "\n\n")
    w(a.purpose or "", "\n\n")
    w(("Rate limit %d requests per second. %s\n\n"):format(a.rate_limit,
      a.readonly and "Read-only." or "Changes state."))
    local p = a.paging
    if p then
      local size = p.max_page_size and ("at most %d a page"):format(p.max_page_size)
        or ("%d a page by default"):format(p.default_page_size)
      w(("Pages (`tcssl.pages`): %s and %s select the entries of %s%s, %s; %s counts them all.\n\n")
        :format(p.offset, p.limit, p.list, p.group_items and (" (groups: entries of each group's "
          .. p.group_items .. ")") or "", size, p.total))
    end
    w("**Parameters** (besides the common Action, Version, Region)\n\n")
    field_table(out, a.input, structs, true)
    w("\n**Output** (fields of `Response`)\n\n")
    field_table(out, a.output, structs, false)
    w("\n", call_example(name, a, structs, "client"), "\n")
  end

  w("## Data structures\n\n")
  for _, name in ipairs(struct_names) do
    local s = structs[name]
    local with_required = false
    for _, f in ipairs(s.fields) do
      if f.required ~= nil then with_required = true end
    end
    w("### ", name, "\n\n", s.purpose or "", "\n\n")
    field_table(out, s.fields, structs, with_required)
    w("\n")
  end

  w("## Status values\n\n")
  w("The values of the fields marked with one of these (the English names are tcssl's, as the "
    .. "waiters use them).\n\n")
  for _, name in ipairs(sorted_keys(model.enums)) do
    local e = model.enums[name]
    w("### ", name, "\n\n| Value | Label | Name |\n|---|---|---|\n")
    for _, v in ipairs(e.values) do w(("| %d | %s | %s |\n"):format(v.value, cell(v.label), cell(v.name))) end
    w("\n")
  end

  local legacy = model.legacy
  w("## Legacy API 2017\n\n")
  w(("The actions below are the older API on `https://%s%s`: signature method v1, parameters in the "
    .. "query string, and a `code` / `message` / `data` envelope instead of `Response`. Their field "
    .. "types are given in the API 3.0 vocabulary (the documents' own type is in the model as "
    .. "`legacy_type`).\n\n"):format(legacy.endpoint, legacy.path))
  for _, name in ipairs(sorted_keys(legacy.actions)) do
    local a = legacy.actions[name]
    w("### ", name, "\n\n", a.purpose or "", "\n\n", a.readonly and "Read-only." or "Changes state.", "\n\n")
    w("**Parameters**\n\n")
    field_table(out, a.input, legacy.structs, true)
    w("\n**Output**\n\n")
    field_table(out, a.output, legacy.structs, false)
    w("\n")
    if a.example and a.example.request then
      local lines = {}
      for line in (a.example.request .. "\n"):gmatch("([^\n]*)\n") do
        local stop = utf8.len(line) and utf8.offset(line, 101)
        lines[#lines + 1] = stop and stop <= #line and line:sub(1, stop - 1) .. " …" or line
      end
      w("Request example from the documents (long values cut):\n\n```\n", table.concat(lines, "\n"), "\n```\n\n")
    end
  end
  for _, name in ipairs(sorted_keys(legacy.structs)) do
    local s = legacy.structs[name]
    w("### ", name, "\n\n", s.purpose or "", "\n\n")
    field_table(out, s.fields, legacy.structs, false)
    w("\n")
  end
  local text = table.concat(out):gsub("\n\n\n+", "\n\n")
  return text
end

---------------------------------------------------------------------------------------------------
-- Main
---------------------------------------------------------------------------------------------------

local root = tools .. "/.."
local model_path = arg[1] or (root .. "/model/facts.lua")
local out_path = arg[2] or (root .. "/docs/api.md")
local facts, err = luadata.load(model_path)
if not facts then
  io.stderr:write("gen-apidoc: cannot load the facts: ", tostring(err), "\n")
  os.exit(1)
end
luadata.write(out_path, render(facts))
