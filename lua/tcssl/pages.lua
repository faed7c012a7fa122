--- tcssl.pages: every item of a paged action, page after page.
--
--   local pages = require "tcssl.pages"
--   for cert, err in pages.each(client, "DescribeCertificates", { SearchKey = "example.com" }) do
--     if not cert then error(tostring(err)) end      -- a failed page ends the loop this way
--     print(cert.CertificateId)
--   end
--   local all, err = pages.all(client, "DescribeCertificates", { FilterExpiring = 1 })
--
-- How each action pages is a fact of the generated model (its `paging`, read from the
-- documents by tools/gen-facts.lua): the Offset and Limit parameters and the type they are
-- sent in (some actions take them as strings), the total and the list of its output, and the
-- page size the documents allow ("最大值1000") or, where they name no maximum, their default.
-- pages.info gives it for every such action. The client's rate limiter paces the calls.
--
-- This module runs under Lua 5.1 / LuaJIT too (OpenResty).
local errors = require "tcssl.error"
local schema = require "tcssl.schema"

local M = {}

M.DEFAULT_MAX_PAGES = 1000
M.DEFAULT_MAX_ITEMS = 100000

local function invalid(code, message, action)
  return nil, errors.new("validation", code, message, { action = action })
end

-- The page size when the documents name neither a maximum nor a default.
local FALLBACK_PAGE_SIZE = 10

local info_cache = {}

--- info(action) -> { offset, limit, total, items, page_size, documented_max, offset_type,
-- limit_type, group_items } | nil, err: how the action pages, from the model. group_items: the
-- list holds groups, and Offset, Limit and the total count the entries of each group's field of
-- that name.
function M.info(action)
  if info_cache[action] then return info_cache[action] end
  local model = schema.model().actions[action]
  if not model then return invalid("InvalidAction", "unknown action " .. tostring(action), action) end
  local p = model.paging
  if not p then
    return invalid("NotPaged", action .. " does not page (it needs Offset and Limit parameters, "
      .. "a total and one list in its output)", action)
  end
  local info = {
    offset = p.offset, limit = p.limit, total = p.total, items = p.list,
    page_size = p.max_page_size or p.default_page_size or FALLBACK_PAGE_SIZE,
    documented_max = p.max_page_size ~= nil,
    offset_type = p.offset_type, limit_type = p.limit_type, group_items = p.group_items,
  }
  info_cache[action] = info
  return info
end

local function as_type(typ, n)
  if typ == "String" then return tostring(n) end
  return n
end

local function to_number(v)
  if type(v) == "number" then return v end
  if type(v) == "string" and v:find("^%d+$") then return tonumber(v) end
end

local Pager = {}
Pager.__index = Pager

--- new(client, action, params [, opts]) -> pager | nil, err
-- opts: page_size (at most the documented maximum), max_pages (default 1000), max_items
-- (default 100000), offset (where to start, default params.Offset or 0).
function M.new(client, action, params, opts)
  local info, err = M.info(action)
  if not info then return nil, err end
  if type(client) ~= "table" or type(client.call) ~= "function" then
    return invalid("InvalidArgument", "expected a client from tcssl.new", action)
  end
  opts = opts or {}
  if type(opts) ~= "table" then return invalid("InvalidParameter", "opts must be a table", action) end
  if params ~= nil and type(params) ~= "table" then
    return invalid("InvalidParameter", "params must be a table", action)
  end
  local size = opts.page_size or info.page_size
  if type(size) ~= "number" or size < 1 or size % 1 ~= 0 then
    return invalid("InvalidParameter", "page_size must be a positive whole number", action)
  end
  if info.documented_max and size > info.page_size then size = info.page_size end
  for _, name in ipairs({ "max_pages", "max_items" }) do
    local v = opts[name]
    if v ~= nil and (type(v) ~= "number" or v < 1 or v % 1 ~= 0) then
      return invalid("InvalidParameter", name .. " must be a positive whole number", action)
    end
  end
  local base = {}
  for k, v in pairs(params or {}) do base[k] = v end
  local start = to_number(opts.offset or base[info.offset] or 0)
  if not start or start < 0 then
    return invalid("InvalidParameter", info.offset .. " must be a whole number", action)
  end
  return setmetatable({
    client = client, action = action, info = info, params = base, page_size = size,
    offset = math.floor(start), max_pages = opts.max_pages or M.DEFAULT_MAX_PAGES,
    max_items = opts.max_items or M.DEFAULT_MAX_ITEMS, pages_read = 0, items_read = 0,
    done = false, total = nil, err = nil,
  }, Pager)
end

--- pager:next_page() -> the page's items (a list), the whole response | nil when done | nil, err
function Pager:next_page()
  if self.done then return nil end
  if self.pages_read >= self.max_pages or self.items_read >= self.max_items then
    self.done = true
    self.truncated = self.total == nil or self.offset < self.total
    return nil
  end
  local info = self.info
  local params = {}
  for k, v in pairs(self.params) do params[k] = v end
  local want = math.min(self.page_size, self.max_items - self.items_read)
  params[info.offset] = as_type(info.offset_type, self.offset)
  params[info.limit] = as_type(info.limit_type, want)
  local res, err = self.client:call(self.action, params)
  if not res then
    self.done, self.err = true, err
    return nil, err
  end
  self.pages_read = self.pages_read + 1
  local items = res[info.items]
  if type(items) ~= "table" then items = {} end
  local total = to_number(res[info.total])
  if total then self.total = total end
  local n = #items
  local inner = info.group_items
  if inner then
    n = 0
    for _, group in ipairs(items) do
      if type(group) == "table" and type(group[inner]) == "table" then n = n + #group[inner] end
    end
  end
  self.offset = self.offset + n
  self.items_read = self.items_read + n
  -- The total decides when the walk ends (a server may cap Limit below what was asked);
  -- without one, a short page does. An empty page always ends it, so a server that
  -- miscounts cannot keep the loop going.
  if n == 0 or (self.total and self.offset >= self.total) or (not self.total and n < want) then
    self.done = true
  end
  return items, res
end

--- pager:items() -> iterator over every item; on a failed page it yields false, err once.
function Pager:items()
  local page, n, i = {}, 0, 0
  return function()
    -- bounded by max_pages: each turn yields an item, skips a null, or reads a page
    while true do
      i = i + 1
      if i <= n then
        if page[i] ~= nil then return page[i] end
      elseif self.done then
        return nil
      else
        local items, err = self:next_page()
        if not items then
          if err then return false, err end
          return nil
        end
        page, n, i = items, #items, 0
      end
    end
  end
end

--- each(client, action, params [, opts]) -> iterator
-- Yields every item. When a page fails the loop gets one last turn with item == false and the
-- error as the second value, so a failure is never mistaken for the end of the list.
function M.each(client, action, params, opts)
  local pager, err = M.new(client, action, params, opts)
  if not pager then
    local done = false
    return function()
      if done then return nil end
      done = true
      return false, err
    end
  end
  return pager:items()
end

--- all(client, action, params [, opts]) -> items, total | nil, err
-- Every item in one list; total is what the server reported.
function M.all(client, action, params, opts)
  local pager, err = M.new(client, action, params, opts)
  if not pager then return nil, err end
  local out = {}
  for item, ierr in pager:items() do
    if not item then return nil, ierr end
    out[#out + 1] = item
  end
  return out, pager.total
end

M.Pager = Pager
return M
