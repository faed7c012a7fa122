--[=[ tools/facts/report.lua: the problems and notes of one run of tools/gen-facts.lua.

Every pass reports here instead of stopping at once, so that one run lists every place where the
documents do not give a consistent model. A problem stops the generator before it writes anything
(fail_if_problems); a note is a contradiction the generator resolved, listed with -v.
]=]

local M = {}

local problems, notes = {}, {}
M.notes = notes

function M.problem(fmt, ...) problems[#problems + 1] = string.format(fmt, ...) end
function M.note(fmt, ...) notes[#notes + 1] = string.format(fmt, ...) end

-- Prints every problem so far and exits with status 1, or returns when there is none.
function M.fail_if_problems()
  if #problems == 0 then return end
  io.stderr:write("gen-facts: the seed does not give a consistent model:\n")
  for _, p in ipairs(problems) do io.stderr:write("  - ", p, "\n") end
  os.exit(1)
end

return M
