--[=[ tools/facts/overview.lua: what the documents say of all actions at once (pass 4a of
tools/gen-facts.lua): the parameter types, and the API overview's table of every action with its
purpose, its category and its rate limit; and which actions only read state.
]=]

local report = require "facts.report"
local strings = require "facts.strings"
local document = require "facts.document"

local problem = report.problem
local starts = strings.starts
local OVERVIEW_HEADER = document.OVERVIEW_HEADER

local M = {}

-- An action only reads state when its name starts with one of these (docs/model-notes.md lists the
-- borderline cases). The documents mark no action read-only, and the client's retries need to
-- know which calls are safe to repeat.
local READONLY_PREFIXES = { "Describe", "Check", "Download" }
local LEGACY_READONLY_PREFIXES = { "CertGet" }

local function has_prefix(name, prefixes)
  for _, p in ipairs(prefixes) do
    if starts(name, p) then return true end
  end
  return false
end

function M.readonly(name) return has_prefix(name, READONLY_PREFIXES) end
function M.legacy_readonly(name) return has_prefix(name, LEGACY_READONLY_PREFIXES) end

-- The scalar types the tables may name, read from the list of parameter types so that a type the
-- documents add is recognised without a change here: "String: 字符串。", "Timestamp ISO8601：ISO
-- 8601 是…".
local function parse_scalars(L, from, to)
  local scalars = {}
  for i = from, to do
    local t = L[i].t
    local name = t:match("^([A-Z][%w ]-)%s*:") or t:match("^([A-Z][%w ]-)%s*：")
    if name and (name:match("^[A-Z]%w*$") or name:match("^[A-Z]%w* [A-Z]%w*$")) then
      scalars[name] = true
    end
  end
  return scalars
end

-- "DescribeCertificates 获取证书列表 10", under a category line such as "证书相关接口".
local function parse_overview(L, from, to)
  local rows, category = {}, nil
  for i = from, to do
    local t = L[i].t
    local name, purpose, rate = t:match("^([A-Z]%w+) (.-) (%d+)$")
    if name then
      if rows[name] then problem("overview line %d: %s is listed twice", L[i].n, name) end
      rows[name] = { purpose = purpose, rate_limit = math.tointeger(tonumber(rate)), category = category }
    elseif t ~= OVERVIEW_HEADER then
      category = t
    end
  end
  -- the first category label sits just above the first header
  local first = L[from - 1] and L[from - 1].t
  for _, row in pairs(rows) do row.category = row.category or first end
  return rows
end

M.parse_scalars, M.parse_overview = parse_scalars, parse_overview

return M
