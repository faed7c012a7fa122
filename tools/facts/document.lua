--[=[ tools/facts/document.lua: the seed as lines, cleaned of page furniture and cut into parts
(passes 1 to 3 of tools/gen-facts.lua).

The other passes work on the cleaned lines L, a list of { n = line number in the seed, t = text },
so that every problem and note can name the seed's line. find, equals, prefix and slice are how
they look things up in L.
]=]

local report = require "facts.report"
local strings = require "facts.strings"

local problem = report.problem
local trim, starts = strings.trim, strings.starts

local M = {}

-- Pass 1: the seed's lines, as they are (the legacy examples are read from these, since cleaning
-- would drop the lines that hold their indentation).
local function read_lines(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read("a")
  f:close()
  local lines = {}
  for line in (text:gsub("\r\n", "\n"):gsub("\n?$", "\n")):gmatch("([^\n]*)\n") do
    lines[#lines + 1] = line
  end
  return lines
end

-- Pass 2: clean.
-- A page's title block is "[category] title / 最近更新时间：… / 推荐使用 API Explorer 点击调试",
-- followed by the page's link URLs; the extraction leaves it wherever the page's first text
-- block ended up, often inside a table or an example, so it is found by its time stamp. The line
-- before the stamp is the title unless it is content (JSON, an example value, a heading).
local function looks_like_content(t)
  return t:match('^[%[%]{}"<]') ~= nil or starts(t, "示例值") or t:match("^%d+%. ") ~= nil
end

local function clean(raw)
  local out, dropped = {}, {}
  local function drop(entry, why) dropped[#dropped + 1] = { n = entry.n, t = entry.t, why = why } end
  for n, line in ipairs(raw) do
    local t = trim(line)
    if t == "" then
      goto next_line                 -- blank lines carry no information in the extraction
    end
    if t:match("^https?://") then
      drop({ n = n, t = t }, "link URL")
    elseif t == "推荐使用 API Explorer 点击调试" then
      drop({ n = n, t = t }, "page header")
    elseif starts(t, "版权所有：") then
      -- the page footer: "SSL 证书" / "版权所有：… 第N 共M页"
      drop({ n = n, t = t }, "page footer")
      if out[#out] and out[#out].t == "SSL 证书" then
        drop(out[#out], "page footer")
        out[#out] = nil
      end
    elseif starts(t, "最近更新时间：") then
      drop({ n = n, t = t }, "page header")
      local title = out[#out]
      if title and not looks_like_content(title.t) then
        out[#out] = nil
        drop(title, "page title")
        local category = out[#out]
        if category and category.t:match("^%S*接口$") then
          out[#out] = nil
          drop(category, "category label")
        end
      end
    else
      out[#out + 1] = { n = n, t = t }
    end
    ::next_line::
  end
  return out, dropped
end

-- Pass 3: split. Lookups in L first: the index of the first line from..to whose text satisfies
-- pred, and the predicates and copies the passes use with it.
local function find(L, from, to, pred)
  for i = from, to do
    if pred(L[i].t) then return i end
  end
end

local function equals(s) return function(t) return t == s end end
local function prefix(s) return function(t) return starts(t, s) end end

local function slice(L, from, to)
  local s = {}
  for i = from, to do s[#s + 1] = L[i] end
  return s
end

-- The lines that mark a part; the overview's header repeats after each page break and each
-- category, and USED_BY is the third line of every data structure.
local OVERVIEW_HEADER = "接口名称 接口功能 频率限制（次/秒）"
local USED_BY = "被如下接口引用："

-- Where each part starts and ends, as indexes into L: types (the list of parameter types),
-- overview .. overview_end, first_action and sections (the first line of each action's section),
-- structs .. structs_end, and legacy (to the end). A part that is not found is a problem, and
-- the parts that would be looked for after it are left out.
local function split(L)
  local parts = {}
  local function need(what, i)
    if not i then problem("cannot find %s", what) end
    return i
  end
  parts.types = need("the parameter types (数据格式)", find(L, 1, #L, prefix("目前腾讯云 API 3.0 输入参数和输出参数支持")))
  parts.overview = need("the API overview table", find(L, 1, #L, equals(OVERVIEW_HEADER)))
  if not (parts.types and parts.overview) then return parts end
  parts.overview_end = need("the end of the API overview", find(L, parts.overview, #L, prefix("以上给出的接口频率限制")))
  parts.first_action = need("the first action", find(L, parts.types, #L, equals("1. 接口描述")))
  local used = need("the data structures", find(L, parts.first_action or 1, #L, prefix(USED_BY)))
  if not used then return parts end
  parts.structs = used - 2                       -- name, purpose, "被如下接口引用"
  local codes = need("the error codes after the data structures", find(L, used, #L, equals("功能说明")))
  if not codes then return parts end
  parts.structs_end = codes - 1
  parts.legacy = need("the legacy 2017 part", find(L, codes, #L, equals("SSL 证书 API 2017")))
  parts.sections = {}
  for i = parts.first_action, parts.structs - 1 do
    if L[i].t == "1. 接口描述" then parts.sections[#parts.sections + 1] = i end
  end
  return parts
end

M.read_lines, M.clean, M.split = read_lines, clean, split
M.find, M.equals, M.prefix, M.slice = find, equals, prefix, slice
M.OVERVIEW_HEADER, M.USED_BY = OVERVIEW_HEADER, USED_BY

return M
