-- The Lua heap a client costs: a fresh Lua state after `require "tcssl"`, `tcssl.new{...}` and
-- one DescribeCertificates call against a local emulator, measured with collectgarbage("count")
-- after a full collection. Every nginx worker pays this figure once.
--   lua5.4 bench/memory.lua [--json] [CORE_DIR]     (luajit bench/memory.lua build/luajit likewise)
-- CORE_DIR is where tcssl/core.so is (default lua). The emulator runs as its own lua5.4
-- process on a free loopback port and is stopped by its id before the program ends. The
-- figure is the heap over what the bare state held before `require` (the interpreter's own
-- libraries); the line also gives the heap after require and after new, and the bare state.
-- --json prints one result line in bench/lib.lua's format instead.
local as_json = arg[1] == "--json"
local core_dir = arg[as_json and 2 or 1] or "lua"
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./" .. core_dir .. "/?.so;" .. package.cpath

local function heap()
  collectgarbage("collect")
  collectgarbage("collect")
  return collectgarbage("count")
end

-- The emulator first, so that nothing of its start-up is counted.
local SECRET_ID, SECRET_KEY = "AKIDBENCHMEMORY", "bench-memory-secret-key-000000"
local keys = os.tmpname()
do
  local f = assert(io.open(keys, "wb"))
  f:write(SECRET_ID, ":", SECRET_KEY, "\n")
  f:close()
end
local proc = assert(io.popen("exec lua5.4 bin/tcssl-emulator --port 0 --max-lifetime 60 --keys-file "
  .. keys .. " 2>/dev/null", "r"))
local line = proc:read("*l") or ""
os.remove(keys)
local url, pid = line:match("^tcssl%-emulator listening on (%S+) pid=(%d+)$")
if not url then
  io.stderr:write("memory.lua: the emulator did not start (", line, ")\n")
  proc:close()
  os.exit(1)
end
local function stop()
  os.execute("kill " .. pid .. " 2>/dev/null")
  proc:close()
end

local base = heap()
local tcssl = require "tcssl"
local after_require = heap()
local client = assert(tcssl.new{
  endpoint = url:match("^https?://(.*)$"), scheme = "http", region = "ap-guangzhou",
  secret_id = SECRET_ID, secret_key = SECRET_KEY,
})
local after_new = heap()
local res, err = client:DescribeCertificates{ Limit = 10 }
local after_call = heap()
stop()
if not res then
  io.stderr:write("memory.lua: the call failed: ", tostring(err), "\n")
  os.exit(1)
end

local interp = type(jit) == "table" and jit.version or _VERSION
if as_json then
  io.stdout:write(('{"id":"memory.client","interpreter":"%s","unit":"KiB","heap":%.1f,'
    .. '"after_require":%.1f,"after_new":%.1f,"bare_state":%.1f}\n')
    :format(interp, after_call - base, after_require - base, after_new - base, base))
else
  io.stdout:write(("memory, %s: %.0f KiB after require, new and one call (require %.0f, new %.0f; "
    .. "the bare state's %.0f KiB not counted)\n")
    :format(interp, after_call - base, after_require - base, after_new - base, base))
end
