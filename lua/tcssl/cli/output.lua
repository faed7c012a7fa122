-- tcssl.cli.output: what the tcssl command prints besides JSON: an API response as a table
-- (`--output table`) or as text (`--output text`, tab-separated lines for scripts), what
-- --filter selected likewise, and the text helpers that keep lines short.

local schema = require "tcssl.schema"
local json = require "tcssl.json"

local M = {}

-- Terminal cells. A character of the East Asian Wide and Fullwidth ranges (CJK ideographs,
-- kana, Hangul, fullwidth forms) takes two cells, a combining mark or a zero-width character
-- none, any other one; text that is not valid UTF-8 counts one cell a byte. Decoded by hand:
-- LuaJIT has no utf8 library.
local WIDE = {
  { 0x1100, 0x115F }, { 0x231A, 0x231B }, { 0x2329, 0x232A }, { 0x2E80, 0x303E }, { 0x3041, 0x33FF },
  { 0x3400, 0x4DBF }, { 0x4E00, 0x9FFF }, { 0xA000, 0xA4CF }, { 0xA960, 0xA97F }, { 0xAC00, 0xD7A3 },
  { 0xF900, 0xFAFF }, { 0xFE10, 0xFE19 }, { 0xFE30, 0xFE6F }, { 0xFF00, 0xFF60 }, { 0xFFE0, 0xFFE6 },
  { 0x1F300, 0x1F64F }, { 0x1F900, 0x1F9FF }, { 0x20000, 0x2FFFD }, { 0x30000, 0x3FFFD },
}
local ZERO = {
  { 0x0300, 0x036F }, { 0x0483, 0x0489 }, { 0x0591, 0x05BD }, { 0x0610, 0x061A }, { 0x064B, 0x065F },
  { 0x200B, 0x200F }, { 0x20D0, 0x20FF }, { 0x302A, 0x302D }, { 0x3099, 0x309A }, { 0xFE00, 0xFE0F },
  { 0xFE20, 0xFE2F }, { 0xFEFF, 0xFEFF },
}

local function in_ranges(ranges, cp)
  for _, r in ipairs(ranges) do
    if cp < r[1] then return false end
    if cp <= r[2] then return true end
  end
  return false
end

--- char_cells(cp) -> the terminal cells code point cp takes (0, 1 or 2).
function M.char_cells(cp)
  if cp < 0x300 then return 1 end
  if in_ranges(ZERO, cp) then return 0 end
  return in_ranges(WIDE, cp) and 2 or 1
end

-- The characters of text: an iterator of (start, stop, code point); nil at the end. A byte
-- that does not start a valid sequence is a character of its own with code point -1.
local function chars(text)
  local i, n = 1, #text
  return function()
    if i > n then return nil end
    local b = text:byte(i)
    local len, cp = 1, b
    if b >= 0xF0 and b <= 0xF4 then
      len, cp = 4, b - 0xF0
    elseif b >= 0xE0 then
      len, cp = 3, b - 0xE0
    elseif b >= 0xC2 and b < 0xE0 then
      len, cp = 2, b - 0xC0
    elseif b >= 0x80 then
      len, cp = 1, -1
    end
    for k = 1, len - 1 do
      local c = text:byte(i + k)
      if not c or c < 0x80 or c > 0xBF then
        len, cp = 1, -1
        break
      end
      cp = cp * 64 + (c - 0x80)
    end
    local start = i
    i = i + len
    return start, i - 1, cp
  end
end

--- width(text) -> the terminal cells text takes.
function M.width(text)
  local w = 0
  for _, _, cp in chars(text) do w = w + (cp < 0 and 1 or M.char_cells(cp)) end
  return w
end
local width = M.width

--- shorten(text, max): text cut to at most max terminal cells, ending with "..." when cut.
function M.shorten(text, max)
  if width(text) <= max then return text end
  local used, stop = 0, 0
  for _, last, cp in chars(text) do
    local w = cp < 0 and 1 or M.char_cells(cp)
    if used + w > max - 3 then break end
    used, stop = used + w, last
  end
  return text:sub(1, stop) .. "..."
end

local function cell(v)
  if v == nil then return "" end
  if type(v) == "table" then
    local parts = {}
    for _, x in ipairs(v) do parts[#parts + 1] = type(x) == "table" and "…" or tostring(x) end
    return table.concat(parts, ",")
  end
  return M.shorten((tostring(v):gsub("%c", " ")), 48)
end

local function render_rows(out, rows)
  local widths = {}
  for _, row in ipairs(rows) do
    for i, c in ipairs(row) do widths[i] = math.max(widths[i] or 0, width(c)) end
  end
  for _, row in ipairs(rows) do
    local cells = {}
    for i, c in ipairs(row) do cells[i] = c .. string.rep(" ", widths[i] - width(c)) end
    out:write((table.concat(cells, "  "):gsub("%s+$", "")), "\n")
  end
end

-- Column priority for lists: ids first, then names and domains, statuses, times.
local function column_rank(name)
  if name:find("Id$") then return 1 end
  if name == "Domain" or name:find("Name$") or name == "Alias" then return 2 end
  if name:find("^Status") or name == "Type" or name:find("Type$") then return 3 end
  if name:find("Time$") then return 4 end
  return 5
end

--- print_table(out, res, fields): a response as a table: its scalar fields as key/value lines,
-- and its one list of objects (if any) with up to eight columns. fields: the action's output
-- fields in the model.
function M.print_table(out, res, fields, model)
  model = model or schema.model()
  local list_field
  for _, f in ipairs(fields) do
    if f.array and f.struct and type(res[f.name]) == "table" then list_field = f end
  end
  local rows = {}
  for _, f in ipairs(fields) do
    local v = res[f.name]
    if v ~= nil and type(v) ~= "table" then rows[#rows + 1] = { f.name, cell(v) } end
  end
  if list_field then
    local items = res[list_field.name]
    local struct = model.structs[list_field.type]
    local candidates = {}
    for i, f in ipairs(struct.fields) do
      if not f.struct then
        for _, item in ipairs(items) do
          local v = item[f.name]
          if v ~= nil and v ~= "" and (type(v) ~= "table" or #v > 0) then
            candidates[#candidates + 1] = { f = f, i = i }
            break
          end
        end
      end
    end
    table.sort(candidates, function(a, b)
      local ra, rb = column_rank(a.f.name), column_rank(b.f.name)
      if ra ~= rb then return ra < rb end
      return a.i < b.i
    end)
    local columns = {}
    for i = 1, math.min(8, #candidates) do columns[i] = candidates[i].f.name end
    if #columns > 0 then
      local table_rows = { columns }
      for _, item in ipairs(items) do
        local row = {}
        for i, name in ipairs(columns) do row[i] = cell(item[name]) end
        table_rows[#table_rows + 1] = row
      end
      render_rows(out, rows)
      if #rows > 0 then out:write("\n") end
      render_rows(out, table_rows)
      return
    end
  end
  render_rows(out, rows)
end

--- field_order(fields [, model]) -> the key order tcssl.json takes for a value described by these model
-- fields: their names in the model's order, and under each struct field its struct's order.
-- Built on first use of each key, so that only the structs a response holds are loaded.
function M.field_order(fields, model)
  model = model or schema.model()
  local order, sub = {}, {}
  for i, f in ipairs(fields or {}) do
    order[i] = f.name
    if f.struct then sub[f.name] = f.type end
  end
  return setmetatable(order, {
    __index = function(t, key)
      local struct = type(key) == "string" and sub[key] and model.structs[sub[key]]
      if not struct then return nil end
      local inner = M.field_order(struct.fields, model)
      rawset(t, key, inner)
      return inner
    end,
  })
end

local function is_scalar(v)
  return type(v) ~= "table"
end

local function scalar_text(v)
  if v == nil or v == json.null then return "null" end
  return (tostring(v):gsub("[%c]", " "))
end

-- The keys of object t: those order names first, in its order, then the others sorted.
local function keys_of(t, order)
  local keys, seen = {}, {}
  for _, k in ipairs(order or {}) do
    if t[k] ~= nil then
      keys[#keys + 1] = k
      seen[k] = true
    end
  end
  local rest = {}
  for k in pairs(t) do
    if not seen[k] then rest[#rest + 1] = tostring(k) end
  end
  table.sort(rest)
  for _, k in ipairs(rest) do keys[#keys + 1] = k end
  return keys
end

--- print_text(out, value [, order]): value as lines of tab-separated fields, for cut and awk:
-- a scalar on its own line; an array of scalars on one line; an array of anything else one
-- element after another; an object's scalar values (keys in order's order, then sorted) on
-- one line, then its arrays and objects the same way.
function M.print_text(out, value, order)
  if value == nil then return end
  if is_scalar(value) then
    out:write(scalar_text(value), "\n")
    return
  end
  if json.is_list(value) or (json.is_array(value)) then
    local all_scalar = true
    for _, v in ipairs(value) do
      if not is_scalar(v) then all_scalar = false end
    end
    if all_scalar then
      local parts = {}
      for i, v in ipairs(value) do parts[i] = scalar_text(v) end
      if #parts > 0 then out:write(table.concat(parts, "\t"), "\n") end
    else
      for _, v in ipairs(value) do M.print_text(out, v, order) end
    end
    return
  end
  local keys = keys_of(value, order)
  local line = {}
  for _, k in ipairs(keys) do
    if is_scalar(value[k]) then line[#line + 1] = scalar_text(value[k]) end
  end
  if #line > 0 then out:write(table.concat(line, "\t"), "\n") end
  for _, k in ipairs(keys) do
    if not is_scalar(value[k]) then M.print_text(out, value[k], order and order[k]) end
  end
end

--- print_value_table(out, value): what --filter selected, as a table: an array of objects
-- with a column per key (in the order they first appear), an array of arrays row by row, an
-- object as key/value lines, scalars one a line.
function M.print_value_table(out, value)
  if value == nil then return end
  if is_scalar(value) then
    out:write(scalar_text(value), "\n")
    return
  end
  local rows = {}
  if json.is_list(value) or json.is_array(value) then
    local columns, seen = {}, {}
    for _, item in ipairs(value) do
      if type(item) == "table" and not json.is_list(item) then
        for _, k in ipairs(keys_of(item)) do
          if not seen[k] then
            seen[k] = true
            columns[#columns + 1] = k
          end
        end
      end
    end
    if #columns > 0 then rows[1] = columns end
    for _, item in ipairs(value) do
      local row = {}
      if type(item) ~= "table" then
        row[1] = cell(item)
      elseif json.is_list(item) then
        for i, v in ipairs(item) do row[i] = cell(v) end
      else
        for i, k in ipairs(columns) do row[i] = cell(item[k]) end
      end
      rows[#rows + 1] = row
    end
  else
    for _, k in ipairs(keys_of(value)) do rows[#rows + 1] = { k, cell(value[k]) } end
  end
  render_rows(out, rows)
end

return M
