#!/usr/bin/env lua5.4
--[=[ tools/gen-model.lua: build the runtime model and its docs from model/facts.lua (`make model`).

  lua5.4 tools/gen-model.lua [FACTS [DIR]]

  FACTS  the normalised facts; default model/facts.lua in the repository (tools/gen-facts.lua
         makes it from the documents)
  DIR    where the modules go; default lua/tcssl in the repository. Writes DIR/model.lua (what
         the client checks, encodes and decodes with) and DIR/model_docs.lua (descriptions,
         purposes, categories, examples, status labels: only the CLI's help and the emulator
         load it).

The output depends on the facts only: the same facts give the same bytes.
]=]

local function tools_dir()
  local script = arg and arg[0] or "tools/gen-model.lua"
  return script:match("^(.*)/[^/]*$") or "."
end

local tools = tools_dir()
local root = tools .. "/.."
local luadata = dofile(tools .. "/luadata.lua")

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

---------------------------------------------------------------------------------------------------
-- The runtime model: only what validation, encoding, decoding, retries, rate limits, paging and
-- the waiters read. A field is { name, type, array, struct, required, enum }; false and absent
-- mean the same to every reader, so only true flags are kept.
---------------------------------------------------------------------------------------------------

local function runtime_fields(fields)
  local out = {}
  for i, f in ipairs(fields) do
    out[i] = { name = f.name, type = f.type, array = f.array or nil, struct = f.struct or nil,
      required = f.required or nil, enum = f.enum }
  end
  return out
end

local function runtime_action(a)
  return { rate_limit = a.rate_limit, readonly = a.readonly, input = runtime_fields(a.input),
    output = runtime_fields(a.output), paging = a.paging }
end

local function runtime_structs(structs)
  local out = {}
  for name, s in pairs(structs) do out[name] = { fields = runtime_fields(s.fields) } end
  return out
end

-- An enum as the runtime uses it: names (value -> English name) and codes (name -> value).
local function runtime_enum(e)
  local out = { names = {}, codes = {} }
  for _, v in ipairs(e.values) do out.names[v.value], out.codes[v.name] = v.name, v.value end
  return out
end

local function runtime_model(facts)
  local m = { service = facts.service, version = facts.version, scalars = facts.scalars,
    actions = {}, structs = runtime_structs(facts.structs), enums = {} }
  for name, a in pairs(facts.actions) do m.actions[name] = runtime_action(a) end
  for name, e in pairs(facts.enums) do m.enums[name] = runtime_enum(e) end
  local legacy = facts.legacy
  m.legacy = { endpoint = legacy.endpoint, path = legacy.path, actions = {}, structs = runtime_structs(legacy.structs) }
  for name, a in pairs(legacy.actions) do m.legacy.actions[name] = runtime_action(a) end
  return m
end

---------------------------------------------------------------------------------------------------
-- The docs: per action its category, purpose and example, per field its description and
-- example (by field name), per struct its purpose, per enum its values' labels.
---------------------------------------------------------------------------------------------------

local function docs_fields(fields)
  local out = {}
  for _, f in ipairs(fields) do
    if f.doc or f.example then out[f.name] = { doc = f.doc, example = f.example } end
  end
  return out
end

local function docs_actions(actions)
  local out = {}
  for name, a in pairs(actions) do
    out[name] = { category = a.category, purpose = a.purpose, example = a.example,
      input = docs_fields(a.input), output = docs_fields(a.output) }
  end
  return out
end

local function docs_structs(structs)
  local out = {}
  for name, s in pairs(structs) do out[name] = { purpose = s.purpose, fields = docs_fields(s.fields) } end
  return out
end

local function docs_model(facts)
  local d = { actions = docs_actions(facts.actions), structs = docs_structs(facts.structs), enums = {},
    legacy = { actions = docs_actions(facts.legacy.actions), structs = docs_structs(facts.legacy.structs) } }
  for name, e in pairs(facts.enums) do
    local labels = {}
    for _, v in ipairs(e.values) do labels[v.value] = v.label end
    d.enums[name] = labels
  end
  return d
end

---------------------------------------------------------------------------------------------------
-- Files
---------------------------------------------------------------------------------------------------

local function counts(facts)
  local c = { actions = 0, structs = 0, input = 0, output = 0, struct_fields = 0, legacy = 0 }
  for _, a in pairs(facts.actions) do
    c.actions, c.input, c.output = c.actions + 1, c.input + #a.input, c.output + #a.output
  end
  for _, s in pairs(facts.structs) do c.structs, c.struct_fields = c.structs + 1, c.struct_fields + #s.fields end
  c.legacy = #sorted_keys(facts.legacy.actions)
  return c
end

local function header(path, what, facts)
  local c = counts(facts)
  return table.concat({
    "-- ", path, ": ", what, "\n",
    "-- GENERATED by tools/gen-model.lua from model/facts.lua (read from the seed ", facts.seed, ");\n",
    "-- do not edit by hand: run `make model` (docs/model-notes.md).\n",
    "-- luacheck: no max line length\n",
    ("-- %d actions, %d structs, %d input parameters, %d output fields, %d struct fields; %d legacy actions.\n")
      :format(c.actions, c.structs, c.input, c.output, c.struct_fields, c.legacy),
  })
end

local facts_path, dir = arg[1] or (root .. "/model/facts.lua"), arg[2] or (root .. "/lua/tcssl")
local facts, err = luadata.load(facts_path)
if not facts then
  io.stderr:write("gen-model: cannot load the facts: ", tostring(err), "\n")
  os.exit(1)
end
luadata.write(dir .. "/model.lua", header("lua/tcssl/model.lua",
  "the Tencent Cloud SSL Certificates API (API 3.0, version\n-- 2019-12-05, and the legacy 2017 API) as the "
  .. "client uses it: names, types, flags, rate limits,\n-- paging and status values. Descriptions and examples "
  .. "are in tcssl.model_docs.", facts)
  .. "return " .. luadata.emit(runtime_model(facts)) .. "\n")
luadata.write(dir .. "/model_docs.lua", header("lua/tcssl/model_docs.lua",
  "the descriptions, purposes, categories and examples of\n-- the model (tcssl.model), by action, struct and "
  .. "field name, and the status values' labels. Only\n-- the CLI's help and the emulator load it.", facts)
  .. "return " .. luadata.emit(docs_model(facts)) .. "\n")
