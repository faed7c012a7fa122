--[=[ tools/facts/strings.lua: string helpers for the text of the documents (UTF-8, Chinese and
ASCII mixed, wrapped wherever the PDF's column ended).
]=]

local M = {}

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end
local function starts(s, prefix) return s:sub(1, #prefix) == prefix end
local function collapse(s) return trim((s:gsub("%s+", " "))) end
local function is_ident(s) return s:match("^[%a_][%w_]*$") ~= nil end

-- Joins two lines of a cell. Chinese text wraps anywhere and needs no blank; a blank goes between
-- two ASCII characters (an English word or a number wrapped at a space; not after a hyphen, where
-- a word wraps), after a sentence or item end (。：；), and before a line that starts a list item
-- ("DNS：…", "- clb", "1. …").
local function wrap_join(a, b)
  if a == "" then return b end
  if b == "" then return a end
  local ascii_pair = a:sub(-1):match("[%w%p]") and a:sub(-1) ~= "-" and b:sub(1, 1):match("[%w%p]")
  local item_end = a:sub(-3) == "。" or a:sub(-3) == "：" or a:sub(-3) == "；"
  local item_start = b:match("^[%w_%-]+：") or b:match("^[%w_%-]+:") or b:match("^%- ") or b:match("^%d+[%.、]")
  if ascii_pair or item_end or item_start then return a .. " " .. b end
  return a .. b
end

-- Cuts a UTF-8 string to at most n code points, marking a cut with "…".
local function cut(s, n)
  local len = utf8.len(s)
  if not len or len <= n then return s end
  return trim(s:sub(1, utf8.offset(s, n) - 1)) .. "…"
end

M.trim, M.starts, M.collapse, M.is_ident, M.wrap_join, M.cut = trim, starts, collapse, is_ident, wrap_join, cut

return M
