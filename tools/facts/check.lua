--[=[ tools/facts/check.lua: the checks of pass 6 of tools/gen-facts.lua, on the model the
parsing passes assembled, before anything is derived from it or written.

A check that fails is a problem (the generator stops); a contradiction the generator can settle
is a note. It checks that the overview and the sections name the same actions and that their
rate limits agree (the overview's is used); that every type is a scalar or a defined struct;
each struct's "used by" list against the references found; and every example against the
tables. A field only an example carries is added to the model (from_example), since the
examples show what the service takes and gives.
]=]

local cjson = require "cjson.safe"
local luadata = require "luadata"
local report = require "facts.report"
local strings = require "facts.strings"
local examples = require "facts.examples"

local problem, note = report.problem, report.note
local is_ident = strings.is_ident
local sorted_keys = luadata.sorted_keys
local json_kind = examples.json_kind

local M = {}

-- The documents' count of actions: fewer means a section was missed, more that one was split.
local EXPECTED_ACTIONS = 68

-- The JSON kinds (examples.json_kind) an example value of each scalar type may have.
local SCALAR_JSON = {
  String = { String = true }, Integer = { Integer = true }, Boolean = { Boolean = true },
  Float = { Integer = true, Float = true }, Double = { Integer = true, Float = true },
  Timestamp = { String = true }, Date = { String = true }, ["Timestamp ISO8601"] = { String = true },
  Binary = { String = true },
}

-- Compares a decoded example value with the model's fields; each disagreement becomes a note.
-- A top-level field the table lacks is collected in `extra` (name -> first example value).
local function check_example(fields, obj, path, structs, where, extra)
  local by_name = {}
  for _, f in ipairs(fields) do by_name[f.name] = f end
  for _, key in ipairs(sorted_keys(obj)) do
    local f, v = by_name[key], obj[key]
    local at = path .. "." .. tostring(key)
    if not f then
      note("%s: example field %s is not in the table", where, at)
      if extra and extra[key] == nil then extra[key] = v end
    else
      local values = { v }
      local kind = json_kind(v)
      if f.array and kind == "array" then values = v
      elseif f.array and kind == "empty" then values = {}
      elseif f.array and kind ~= "empty" and kind ~= "null" then
        note("%s: %s is Array of %s in the table, %s in the example", where, at, f.type, kind)
        values = {}
      end
      for i, e in ipairs(values) do
        local ek = json_kind(e)
        if values == v then at = ("%s.%s[%d]"):format(path, tostring(key), i) end
        if ek == "null" then
          if not f.nullable then note("%s: %s is null in the example but not marked nullable", where, at) end
        elseif f.struct then
          if ek == "object" then check_example(structs[f.type].fields, e, at, structs, where)
          elseif ek ~= "empty" then
            note("%s: %s is struct %s in the table, %s in the example", where, at, f.type, ek)
          end
        elseif SCALAR_JSON[f.type] and not SCALAR_JSON[f.type][ek] then
          note("%s: %s is %s in the table, %s %s in the example", where, at, f.type, ek, cjson.encode(e))
        end
      end
    end
  end
end

-- A field an example carries but the table lacks is added, typed by the example's value and
-- marked from_example (the examples show the service takes or gives it). Output fields go
-- before RequestId, which stays last.
local function add_from_examples(fields, extra, action, side, required)
  for _, key in ipairs(sorted_keys(extra)) do
    local v = extra[key]
    local kind = json_kind(v)
    local f = { name = key, required = required, from_example = true,
      doc = "Not in the documents' table; added because an example carries it." }
    if kind == "array" and json_kind(v[1]) ~= "object" and json_kind(v[1]) ~= "array" then
      f.type, f.array, f.example = json_kind(v[1]), true, cjson.encode(v)
    elseif SCALAR_JSON[kind] then
      f.type, f.example = kind, type(v) == "string" and v or cjson.encode(v)
    end
    if not f.type or not is_ident(key) then
      problem("%s: %s field %s appears only in an example, as %s; cannot type it", action, side, key, kind)
    else
      local at = #fields + 1
      if side == "output" and fields[#fields] and fields[#fields].name == "RequestId" then at = #fields end
      table.insert(fields, at, f)
      note("%s: %s field %s is only in an example; added as %s%s (from_example)", action, side, key,
        f.array and "Array of " or "", f.type)
    end
  end
end

-- model: the assembled model, with scalar_set (the scalar names as a set); overview: the API
-- overview's rows by action; sections: the parsed action sections; defs: every data structure
-- as defined, a second definition of a name included.
local function check_model(model, overview, sections, defs)
  -- the overview and the sections name the same 68 actions
  local count = 0
  for _ in pairs(overview) do count = count + 1 end
  if count ~= EXPECTED_ACTIONS then
    problem("the API overview lists %d actions, expected %d", count, EXPECTED_ACTIONS)
  end
  if #sections ~= EXPECTED_ACTIONS then
    problem("found %d action sections, expected %d", #sections, EXPECTED_ACTIONS)
  end
  for name in pairs(overview) do
    if not model.actions[name] then problem("%s is in the API overview but has no section", name) end
  end
  for _, a in ipairs(sections) do
    local o = overview[a.name]
    if not o then
      problem("%s has a section but no rate limit in the API overview", a.name)
    elseif not a.section_rate then
      note("%s: its section gives no default rate limit; the overview's %d/s is used", a.name, o.rate_limit)
    elseif a.section_rate ~= o.rate_limit then
      note("%s: the overview gives %d/s, its section %d/s; the overview's is used",
        a.name, o.rate_limit, a.section_rate)
      io.stderr:write(("gen-facts: rate limits disagree for %s: overview %d/s, section %d/s\n")
        :format(a.name, o.rate_limit, a.section_rate))
    end
  end
  -- duplicate struct definitions
  local seen = {}
  for _, d in ipairs(defs) do
    if seen[d.name] then
      local same = cjson.encode(seen[d.name].fields) == cjson.encode(d.fields)
      note("data structure %s is defined twice (lines %d and %d)%s; the first is used", d.name,
        seen[d.name].line, d.line, same and ", identically" or ", differently")
    else
      seen[d.name] = d
    end
  end
  -- every field typed, every struct referenced defined, every struct used
  local reached = {}
  local function walk(fields, where, root)
    for _, f in ipairs(fields) do
      if not f.type or f.type == "" then problem("%s.%s has no type", where, f.name) end
      if not is_ident(f.name) then problem("%s: bad field name %q", where, f.name) end
      if not f.struct and not model.scalar_set[f.type] then
        problem("%s.%s has type %s, which is neither a scalar type nor a defined struct", where, f.name,
          tostring(f.type))
      elseif f.struct then
        local s = model.structs[f.type]
        if not s then
          problem("%s.%s refers to %s, which is not defined", where, f.name, f.type)
        elseif root and not (reached[f.type] or {})[root] then
          reached[f.type] = reached[f.type] or {}
          reached[f.type][root] = true
          walk(s.fields, f.type, root)
        end
      end
    end
  end
  for _, name in ipairs(sorted_keys(model.actions)) do
    local a = model.actions[name]
    walk(a.input, name, name)
    walk(a.output, name, name)
    if not (math.type(a.rate_limit) == "integer" and a.rate_limit > 0) then problem("%s: no rate limit", name) end
  end
  for _, name in ipairs(sorted_keys(model.structs)) do
    walk(model.structs[name].fields, name, nil)
    if not reached[name] then note("data structure %s is not used by any action", name) end
  end
  -- "被如下接口引用" against the references actually found
  for _, d in ipairs(defs) do
    local listed = {}
    for _, a in ipairs(d.used_by) do listed[a] = true end
    for _, a in ipairs(sorted_keys(reached[d.name] or {})) do
      if not listed[a] then note("data structure %s: used by %s, which its \"被如下接口引用\" list omits", d.name, a) end
    end
    for _, a in ipairs(d.used_by) do
      if not model.actions[a] then
        note("data structure %s: its \"被如下接口引用\" list names %s, which is not an action", d.name, a)
      elseif not (reached[d.name] or {})[a] then
        note("data structure %s: its \"被如下接口引用\" list names %s, which does not use it", d.name, a)
      end
    end
  end
  -- examples against the tables (every example, though the model keeps only the first)
  for _, a in ipairs(sections) do
    local m = model.actions[a.name]
    local extra_in, extra_out = {}, {}
    for k, ex in ipairs(a.examples) do
      local where = ("%s example %d"):format(a.name, k)
      local req = ex.request and cjson.decode(ex.request)
      if type(req) == "table" then check_example(m.input, req, "request", model.structs, where, extra_in) end
      local resp = ex.response and cjson.decode(ex.response)
      if type(resp) == "table" and type(resp.Response) == "table" then
        check_example(m.output, resp.Response, "Response", model.structs, where, extra_out)
      elseif ex.response then
        problem("%s: the response example has no Response object", where)
      end
    end
    if #a.examples == 0 then note("%s has no example", a.name) end
    add_from_examples(m.input, extra_in, a.name, "input", false)
    add_from_examples(m.output, extra_out, a.name, "output", nil)
  end
end

M.check_model = check_model

return M
