-- tcssl.cli.output: what the tcssl command prints besides JSON: an API response as a table
-- (`--output table`), and the text helpers that keep lines short.

local schema = require "tcssl.schema"

local M = {}

-- Characters, where the runtime counts them (Lua 5.3+ has utf8); LuaJIT counts bytes.
local utf8 = rawget(_G, "utf8")

--- shorten(text, max): text cut to at most max characters, ending with "..." when cut
-- (UTF-8 aware; invalid UTF-8 is cut by bytes).
function M.shorten(text, max)
  local n = utf8 and utf8.len(text)
  if not n then return #text > max and text:sub(1, max - 3) .. "..." or text end
  if n <= max then return text end
  return text:sub(1, utf8.offset(text, max - 2) - 1) .. "..."
end

-- Display width, counting a character as one column.
local function width(text)
  return utf8 and utf8.len(text) or #text
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
function M.print_table(out, res, fields)
  local model = schema.model()
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

--- field_order(fields) -> the key order tcssl.json takes for a value described by these model
-- fields: their names in the model's order, and under each struct field its struct's order.
-- Built on first use of each key, so that only the structs a response holds are loaded.
function M.field_order(fields)
  local model = schema.model()
  local order, sub = {}, {}
  for i, f in ipairs(fields or {}) do
    order[i] = f.name
    if f.struct then sub[f.name] = f.type end
  end
  return setmetatable(order, {
    __index = function(t, key)
      local struct = type(key) == "string" and sub[key] and model.structs[sub[key]]
      if not struct then return nil end
      local inner = M.field_order(struct.fields)
      rawset(t, key, inner)
      return inner
    end,
  })
end

return M
