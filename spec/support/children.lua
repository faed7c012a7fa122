-- Loaded by tools/run-specs (busted --helper) before any spec.
--
-- Under `make asan` the interpreter runs with the AddressSanitizer runtime preloaded. Programs a
-- spec starts (script(1), openssl, nginx, a child lua5.4 over the plain core) must not inherit
-- that preload: LeakSanitizer would judge them at exit and print reports of its own into their
-- output, and their exit status would mean the sanitizer's verdict instead of theirs. So every
-- command line goes through a shell that drops the sanitizer's variables first.
if os.getenv("TCSSL_SANITIZE") ~= "asan" then return end

local CLEAN = "unset LD_PRELOAD ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS; "
local popen, execute = io.popen, os.execute

io.popen = function(cmd, ...) -- luacheck: ignore 122
  if type(cmd) == "string" then cmd = CLEAN .. cmd end
  return popen(cmd, ...)
end

os.execute = function(cmd, ...) -- luacheck: ignore 122
  if type(cmd) == "string" then cmd = CLEAN .. cmd end
  return execute(cmd, ...)
end
