--- Files, shell commands and temporary directories for the specs (run from the repository root).
--
--   local util = require "spec.support.util"
--   util.quote(s)              -- s quoted for sh: 'it'\''s'
--   util.read(path)            -- the file's bytes, or nil when it cannot be read
--   util.must_read(path)       -- the same, raising when it cannot be read
--   util.write(path, text)     -- writes the file, returns path
--   util.tmpfile(text)         -- writes a new temporary file (os.tmpname), returns its path
--   util.sh(command)           -- runs it with stderr joined to stdout: exit status, output
--   util.run(command)          -- the same: true when it exits 0, output
--   util.lines(command)        -- the lines a command prints, as a list
--   util.temp_dir(name)        -- a new directory tcssl-<name>.XXXXXX under $TMPDIR or /tmp;
--                              -- util.remove_dir(dir) removes it and what it holds
--   util.mode(path), util.is_link(path), util.listing(dir)
--   util.process_state(pid)    -- the state letter of /proc/<pid>/stat, or nil when it is gone
--   util.alive(pid)            -- it runs (a zombie does not count)
--
-- util.sh reads the exit status from the output (`echo __rc=$?`), since LuaJIT's popen close does
-- not give it.

local M = {}

function M.quote(s)
  return "'" .. tostring(s):gsub("'", [['\'']]) .. "'"
end

function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

function M.must_read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

function M.write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

function M.tmpfile(text)
  return M.write(os.tmpname(), text)
end

function M.sh(command)
  local p = assert(io.popen(command .. " 2>&1; echo __rc=$?", "r"))
  local out = p:read("*a")
  p:close()
  return tonumber(out:match("__rc=(%d+)\n$")), (out:gsub("__rc=%d+\n$", ""))
end

function M.run(command)
  local status, out = M.sh(command)
  return status == 0, out
end

function M.lines(command)
  local p = assert(io.popen(command))
  local out = {}
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  return out
end

function M.temp_dir(name)
  local _, out = M.sh("mktemp -d -t tcssl-" .. name .. ".XXXXXX")
  local dir = out:gsub("%s+$", "")
  assert(M.is_temp_dir(dir), "mktemp -d failed: " .. dir)
  return dir
end

-- True for a path that temp_dir gives (mktemp follows $TMPDIR, so only the last part is known).
function M.is_temp_dir(dir)
  return type(dir) == "string" and dir:find("^/.*/tcssl%-[%w_-]+%.%w+$") ~= nil
end

-- Removes a directory that temp_dir made, and nothing else.
function M.remove_dir(dir)
  if M.is_temp_dir(dir) then M.sh("rm -rf " .. M.quote(dir)) end
end

-- The permission bits in octal, e.g. "600".
function M.mode(path)
  local _, out = M.sh("stat -c %a " .. M.quote(path))
  return out:match("^(%d+)")
end

function M.is_link(path)
  return M.sh("test -L " .. M.quote(path)) == 0
end

-- The names in a directory, sorted, dot files included.
function M.listing(dir)
  local _, out = M.sh("ls -A " .. M.quote(dir))
  local names = {}
  for name in out:gmatch("[^\n]+") do names[#names + 1] = name end
  table.sort(names)
  return names
end

function M.process_state(pid)
  local stat = M.read("/proc/" .. pid .. "/stat")
  return stat and stat:match("^%d+ %b() (%a)")
end

-- True while the process runs (a zombie, exited but not yet reaped, does not count).
function M.alive(pid)
  local state = M.process_state(pid)
  return state ~= nil and state ~= "Z" and state ~= "X"
end

return M
