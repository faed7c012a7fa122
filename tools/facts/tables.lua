--[=[ tools/facts/tables.lua: the documents' field tables as rows (pass 4b of tools/gen-facts.lua).

Action inputs and outputs and the data structures all use the same flattened tables: a row's
name and type (and required flag) start a line, and every other line continues the row's
description. parse_table(T, mode, ctx, where) reads the lines T of one table: mode is what its
header says (TABLE_HEADERS), ctx = { scalars = set, structs = set } says which names are types.
A row is { name, required, type, array, nullable, line, doc (cut), full (the whole text, for the
facts read from prose), example }.
]=]

local report = require "facts.report"
local strings = require "facts.strings"

local problem = report.problem
local trim, starts, collapse = strings.trim, strings.starts, strings.collapse
local wrap_join, cut = strings.wrap_join, strings.cut

local M = {}

local DOC_MAX = 200          -- code points kept of a description
local NULL_NOTE = "注意：此字段可能返回 null，表示取不到有效值。"

-- The header lines, by the columns they announce; a header also comes back after a page break.
local TABLE_HEADERS = {
  ["参数名称 必选 类型 描述"] = "input",       -- name required type
  ["参数名称 类型 描述"] = "fields",            -- name type
  ["名称 类型 描述"] = "fields",
  ["名称 类型 必选 描述"] = "fields_req",       -- name type required
}

local REQUIRED = { ["是"] = true, ["否"] = false }

-- The type at the start of s: the longest scalar name, or a known struct name, or after
-- "Array of" any identifier (so that an undefined struct is reported, not swallowed).
local function leading_type(s, ctx, after_array)
  local best
  for name in pairs(ctx.scalars) do
    if starts(s, name) and (#s == #name or s:sub(#name + 1, #name + 1) == " ") then
      if not best or #name > #best then best = name end
    end
  end
  if best then return best, trim(s:sub(#best + 1)) end
  local id, rest = s:match("^([A-Z][%w_]*)%s*(.*)$")
  if id and (ctx.structs[id] or after_array) then return id, rest end
end

-- A type that starts in `rest` (possibly empty) and may continue on the next lines: "String",
-- "Array of String", or "Array of" / "String" on two lines. Returns type, array, the text after
-- the type and the index of the first line not consumed.
local function read_type(T, i, rest, ctx)
  local j, s = i + 1, rest
  if s == "" then
    if not T[j] then return nil end
    s, j = T[j].t, j + 1
  end
  local array = false
  if s == "Array of" then
    if not T[j] then return nil end
    array, s, j = true, T[j].t, j + 1
  elseif starts(s, "Array of ") then
    array, s = true, s:sub(#"Array of " + 1)
  end
  local ty, after = leading_type(s, ctx, array)
  if not ty then return nil end
  return ty, array, after, j
end

-- The first line(s) of a row at T[i], or nil when T[i] continues the previous row.
local function read_row_start(T, i, mode, ctx)
  local t = T[i].t
  local name, rest, req
  if mode == "input" then
    local n, r, s = t:match("^([%a_][%w_]*%.N) (%S+)%s*(.*)$")
    if not n then n, r, s = t:match("^([%a_][%w_]*) (%S+)%s*(.*)$") end
    if not n or REQUIRED[r] == nil then return nil end
    name, req, rest = n, REQUIRED[r], s
  else
    name, rest = t:match("^([%a_][%w_]*)%s*(.*)$")
    if not name then return nil end
  end
  local ty, array, after, j = read_type(T, i, rest, ctx)
  if not ty then return nil end
  if mode == "fields_req" then
    local r, s = after:match("^(%S+)%s*(.*)$")
    if not r and T[j] then
      r, s = T[j].t:match("^(%S+)%s*(.*)$")
      j = j + 1
    end
    if REQUIRED[r] == nil then return nil end
    req, after = REQUIRED[r], s
  end
  return { name = name, required = req, type = ty, array = array, line = T[i].n, text = { after } }, j
end

-- Splits a row's description lines into doc, example (示例值) and the null note. A callout box
-- ("说明" and its text) that the extraction put after the example value goes back to the doc.
local function finish_row(row, where)
  local doc, example, callout = "", nil, false
  for _, piece in ipairs(row.text) do
    if not example and starts(piece, "示例值：") then
      example = piece:sub(#"示例值：" + 1)
    elseif example and (piece == "说明" or piece == "注意：") then
      callout = true
      doc = wrap_join(doc, piece .. "：")
    elseif example and not callout then
      example = example .. piece            -- example values wrap mid-token (base64, JSON)
    else
      doc = wrap_join(doc, piece)
    end
  end
  row.text = nil
  doc = collapse(doc)
  local plain = doc:gsub(NULL_NOTE, ""):gsub("注意：此字段可能返回 null，表示取不到有效值", "")
  if plain ~= doc then row.nullable = true end
  row.full = collapse(plain)                -- the whole text, for the facts read from it (pass 6b)
  row.doc = cut(row.full, DOC_MAX)
  if example then row.example = trim(example) end
  -- Name.N marks an array parameter; the type column must agree
  local base = row.name:match("^(.-)%.N$")
  if base then
    if not row.array then problem("%s: %s is Name.N but its type is not Array of", where, row.name) end
    row.name = base
  end
  return row
end

local function parse_table(T, mode, ctx, where)
  local rows, cur, seen = {}, nil, {}
  local i = 1
  while i <= #T do
    local t = T[i].t
    if TABLE_HEADERS[t] then
      i = i + 1                                 -- a header repeated after a page break
    else
      local row, j = read_row_start(T, i, mode, ctx)
      if row then
        if cur then finish_row(cur, where) end
        rows[#rows + 1], cur, i = row, row, j
      else
        if cur then
          cur.text[#cur.text + 1] = t
        else
          problem("%s, line %d: text before the first row: %s", where, T[i].n, t)
        end
        i = i + 1
      end
    end
  end
  if cur then finish_row(cur, where) end
  for _, r in ipairs(rows) do
    if seen[r.name] then problem("%s: %s appears twice", where, r.name) end
    seen[r.name] = true
  end
  return rows
end

M.TABLE_HEADERS, M.REQUIRED, M.DOC_MAX = TABLE_HEADERS, REQUIRED, DOC_MAX
M.parse_table = parse_table

return M
