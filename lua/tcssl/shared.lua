-- Small key/value caches with expiry, for state that several nginx workers should share
-- (temporary credentials, and the counters of tcssl.ratelimit.shared).
--
--   local shared = require "tcssl.shared"
--   local cache, err = shared.dict("tcssl")   -- lua_shared_dict tcssl 1m;  (OpenResty)
--   local cache = shared.memory()             -- the same interface inside one Lua state
--
--   cache:get(key)                    -> value | nil
--   cache:set(key, value [, ttl])     -> true | nil, message      ttl in seconds; nil or 0: none
--   cache:delete(key)
--   cache:incr(key, by [, init [, ttl]]) -> new value | nil, message
--   cache:add(key, value, ttl)        -> true | false (already there) | nil, message
--
-- tcssl.shared.redis is the same interface in Redis, shared between hosts.
--
-- Values are strings, numbers or booleans (what a lua_shared_dict holds); callers encode
-- tables themselves. A dict is looked up by name when it is made, never at require time.
local errors = require "tcssl.error"
local runtime = require "tcssl.runtime"

local M = {}

local Dict = {}
Dict.__index = Dict

function Dict:get(key)
  return (self.dict:get(key))
end

function Dict:set(key, value, ttl)
  local ok, err = self.dict:set(key, value, ttl or 0)
  if not ok then return nil, err end
  return true
end

function Dict:delete(key)
  self.dict:delete(key)
end

function Dict:incr(key, by, init, ttl)
  return self.dict:incr(key, by, init, ttl)
end

function Dict:add(key, value, ttl)
  local ok, err = self.dict:add(key, value, ttl or 0)
  if ok then return true end
  if err == "exists" then return false end
  return nil, err
end

--- dict(name) -> cache over ngx.shared[name] | nil, err (kind "config", code NoSharedDict)
function M.dict(name)
  local ngx = rawget(_G, "ngx")
  local dicts = type(ngx) == "table" and ngx.shared
  if not dicts then
    return nil, errors.new("config", "NoSharedDict",
      ("shared dict %s: lua_shared_dict exists only inside OpenResty"):format(tostring(name)))
  end
  local dict = dicts[name]
  if not dict then
    return nil, errors.new("config", "NoSharedDict",
      ("no lua_shared_dict %s in nginx.conf (add `lua_shared_dict %s 1m;` to the http block)"):format(
        tostring(name), tostring(name)))
  end
  return setmetatable({ dict = dict, name = name }, Dict)
end

local Memory = {}
Memory.__index = Memory

local function live(self, key)
  local e = self.entries[key]
  if e and e.expires and e.expires <= self.now() then
    self.entries[key] = nil
    return nil
  end
  return e
end

function Memory:get(key)
  local e = live(self, key)
  return e and e.value
end

function Memory:set(key, value, ttl)
  local t = type(value)
  if t ~= "string" and t ~= "number" and t ~= "boolean" then
    return nil, "bad value type " .. t
  end
  self.entries[key] = { value = value, expires = ttl and ttl > 0 and self.now() + ttl or nil }
  return true
end

function Memory:delete(key)
  self.entries[key] = nil
end

function Memory:add(key, value, ttl)
  if live(self, key) then return false end
  return self:set(key, value, ttl)
end

function Memory:incr(key, by, init, ttl)
  local e = live(self, key)
  if not e then
    if init == nil then return nil, "not found" end
    self:set(key, init + by, ttl)
    return init + by
  end
  if type(e.value) ~= "number" then return nil, "not a number" end
  e.value = e.value + by
  return e.value
end

--- memory{ now = monotonic seconds } -> a cache private to this Lua state
function M.memory(opts)
  return setmetatable({ entries = {}, now = opts and opts.now or runtime.now }, Memory)
end

--- from(v) -> cache | nil, err: v is a cache object (anything with get and set) or the name
-- of a lua_shared_dict.
function M.from(v)
  if type(v) == "string" then return M.dict(v) end
  if type(v) == "table" and type(v.get) == "function" and type(v.set) == "function" then return v end
  return nil, errors.new("config", "NoSharedDict", "expected a lua_shared_dict name or a cache object")
end

return M
