#!/usr/bin/env lua5.4
--[=[ tools/gen-model.lua: build the runtime model and its docs from model/facts.lua (`make model`).

  lua5.4 tools/gen-model.lua [FACTS [DIR]] [--rockspec FILE]

  FACTS  the normalised facts; default model/facts.lua in the repository (tools/gen-facts.lua
         makes it from the documents)
  DIR    where the modules go; default lua/tcssl in the repository. Writes
           DIR/model.lua                 the model's index, loading the entries below on first use
           DIR/model/actions/<Name>.lua  one action: what the client checks, encodes and decodes
           DIR/model/structs/<Name>.lua  one data structure
           DIR/model/legacy.lua          the legacy 2017 API
           DIR/model/enums.lua           the status values
           DIR/model_docs.lua            descriptions, purposes, categories, examples and status
                                         labels: only the CLI's help and the emulator load it
         and removes any other .lua file under DIR/model/actions and DIR/model/structs.
  --rockspec FILE  also rewrites FILE's list of the model's entry modules: the lines between
         "-- the model's entries (tools/gen-model.lua writes these lines)" and "-- end of the
         model's entries"

The output depends on the facts only: the same facts give the same bytes.
]=]

-- The modules it shares with the other generators are found next to this script.
local tools = (arg and arg[0] or "tools/gen-model.lua"):match("^(.*)/[^/]*$") or "."
local root = tools .. "/.."
package.path = tools .. "/?.lua;" .. package.path
local luadata = require "luadata"
local counts = require "facts.counts"

local sorted_keys = luadata.sorted_keys

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

local function header(path, what, facts)
  return table.concat({
    "-- ", path, ": ", what, "\n",
    "-- GENERATED by tools/gen-model.lua from model/facts.lua (read from the seed ", facts.seed, ");\n",
    "-- do not edit by hand: run `make model` (docs/model-notes.md).\n",
    "-- luacheck: no max line length\n",
    counts.line(counts.of(facts)),
  })
end

local ENTRY_HEADER = "-- GENERATED by tools/gen-model.lua from model/facts.lua; do not edit by hand: "
  .. "run `make model`.\n-- luacheck: no max line length\n"

-- The index: the names, and how an entry is loaded the first time it is read. Lua 5.1 (LuaJIT)
-- and 5.4 alike; pairs over model.actions works under both, so every action's name is a key.
local LOADER = [==[
-- Each action's and each data structure's entry is its own module (tcssl.model.actions.<Name>,
-- tcssl.model.structs.<Name>), required the first time it is read, so that a Lua state holds
-- the entries it uses and no others. model.actions has a key for every action: its value is a
-- table that holds the action's name and takes the rest of the entry at its first other read.
-- model.structs[name] loads one data structure (model.struct_names() lists them all);
-- model.legacy and model.enums load at their first read. (The names of the structs are kept as
-- one string: a Lua state pays for a string per name only for the structs it loads.)
local function has_struct(name)
  return type(name) == "string" and STRUCTS:find(" " .. name .. " ", 1, true) ~= nil
end

local ENTRY = {
  __index = function(entry, key)
    local module = "tcssl.model.actions." .. rawget(entry, "name")
    local data = require(module)
    setmetatable(entry, nil)
    for k, v in pairs(data) do rawset(entry, k, v) end
    package.loaded[module] = entry
    return rawget(entry, key)
  end,
}
local actions = {}
for i = 1, #ACTIONS do actions[ACTIONS[i]] = setmetatable({ name = ACTIONS[i] }, ENTRY) end
model.actions = actions

function model.struct_names()
  local names = {}
  for name in STRUCTS:gmatch("%S+") do names[#names + 1] = name end
  return names
end
model.structs = setmetatable({}, {
  __index = function(structs, name)
    if not has_struct(name) then return nil end
    local s = require("tcssl.model.structs." .. name)
    rawset(structs, name, s)
    return s
  end,
})

local LAZY = { legacy = "tcssl.model.legacy", enums = "tcssl.model.enums" }
return setmetatable(model, {
  __index = function(m, key)
    local module = LAZY[key]
    if not module then return nil end
    local v = require(module)
    rawset(m, key, v)
    return v
  end,
})
]==]

local function render_index(facts, runtime)
  return header("lua/tcssl/model.lua",
    "the Tencent Cloud SSL Certificates API (API 3.0, version\n-- 2019-12-05, and the legacy 2017 API) as the "
    .. "client uses it: names, types, flags, rate limits,\n-- paging and status values. Descriptions and examples "
    .. "are in tcssl.model_docs.", facts)
    .. "local ACTIONS = " .. luadata.emit(sorted_keys(runtime.actions)) .. "\n"
    .. "local STRUCTS = " .. luadata.quote(" " .. table.concat(sorted_keys(runtime.structs), " ") .. " ") .. "\n"
    .. "local model = " .. luadata.emit({ service = runtime.service, version = runtime.version,
      scalars = runtime.scalars }) .. "\n\n"
    .. LOADER
end

-- Lists the .lua files in dir (none when it does not exist).
local function lua_files(dir)
  local p = assert(io.popen("ls " .. dir .. " 2>/dev/null"))
  local files = {}
  for name in p:lines() do
    if name:match("%.lua$") then files[#files + 1] = name end
  end
  p:close()
  return files
end

-- Writes the entries of one kind into dir, one file per name, and removes files of names gone.
local function write_entries(dir, entries)
  assert(os.execute("mkdir -p " .. dir))
  local keep = {}
  for _, name in ipairs(sorted_keys(entries)) do
    keep[name .. ".lua"] = true
    luadata.write(dir .. "/" .. name .. ".lua", ENTRY_HEADER .. "return " .. luadata.emit(entries[name]) .. "\n")
  end
  for _, file in ipairs(lua_files(dir)) do
    if not keep[file] then assert(os.remove(dir .. "/" .. file)) end
  end
end

-- The rockspec's modules for the entries, between two marker lines.
local ROCKSPEC_BEGIN = "    -- the model's entries (tools/gen-model.lua writes these lines)\n"
local ROCKSPEC_END = "    -- end of the model's entries\n"
local function update_rockspec(path, runtime)
  local f = assert(io.open(path, "rb"))
  local text = f:read("a")
  f:close()
  local lines = {}
  local function add(module, file) lines[#lines + 1] = ('    ["%s"] = "%s",\n'):format(module, file) end
  for _, kind in ipairs({ "actions", "structs" }) do
    for _, name in ipairs(sorted_keys(runtime[kind])) do
      add("tcssl.model." .. kind .. "." .. name, "lua/tcssl/model/" .. kind .. "/" .. name .. ".lua")
    end
  end
  add("tcssl.model.legacy", "lua/tcssl/model/legacy.lua")
  add("tcssl.model.enums", "lua/tcssl/model/enums.lua")
  local a, b = text:find(ROCKSPEC_BEGIN, 1, true)
  local c = a and text:find(ROCKSPEC_END, b, true)
  if not c then error("gen-model: " .. path .. " has no marker lines for the model's entries") end
  luadata.write(path, text:sub(1, b) .. table.concat(lines) .. text:sub(c))
end

local positional, rockspec = {}, nil
do
  local i = 1
  while arg[i] do
    if arg[i] == "--rockspec" then
      rockspec = arg[i + 1]
      i = i + 1
    else
      positional[#positional + 1] = arg[i]
    end
    i = i + 1
  end
end
local facts_path, dir = positional[1] or (root .. "/model/facts.lua"), positional[2] or (root .. "/lua/tcssl")
local facts, err = luadata.load(facts_path)
if not facts then
  io.stderr:write("gen-model: cannot load the facts: ", tostring(err), "\n")
  os.exit(1)
end
local runtime = runtime_model(facts)
luadata.write(dir .. "/model.lua", render_index(facts, runtime))
write_entries(dir .. "/model/actions", runtime.actions)
write_entries(dir .. "/model/structs", runtime.structs)
luadata.write(dir .. "/model/legacy.lua", ENTRY_HEADER .. "return " .. luadata.emit(runtime.legacy) .. "\n")
luadata.write(dir .. "/model/enums.lua", ENTRY_HEADER .. "return " .. luadata.emit(runtime.enums) .. "\n")
if rockspec then update_rockspec(rockspec, runtime) end
luadata.write(dir .. "/model_docs.lua", header("lua/tcssl/model_docs.lua",
  "the descriptions, purposes, categories and examples of\n-- the model (tcssl.model), by action, struct and "
  .. "field name, and the status values' labels. Only\n-- the CLI's help and the emulator load it.", facts)
  .. "return " .. luadata.emit(docs_model(facts)) .. "\n")
