-- luacheck configuration for tcssl
--
-- What runs under both Lua 5.4 and LuaJIT (lua/tcssl/, lua/tcssl_emulator/, bin/, the examples
-- and spec/unit, spec/emulator, spec/support, which tools/run-specs runs under both) is checked
-- against "lua54_luajit": only the globals and fields both runtimes have, so a math.type,
-- math.tointeger or utf8 use needs a fallback (and an inline `luacheck: ignore 143`) to pass.
-- The tools, the model generator's specs and the nginx suite run under one runtime: Lua 5.4,
-- or LuaJIT for the code nginx loads.
local function both(a, b)
  local out = {}
  for name, da in pairs(a) do
    local db = b[name]
    if db then
      local def = {}
      for k, v in pairs(da) do def[k] = v end
      def.other_fields = da.other_fields and db.other_fields or nil
      if da.fields and db.fields then
        def.fields = both(da.fields, db.fields)
      elseif db.fields and not db.other_fields then
        def.fields = db.fields
      end
      out[name] = def
    end
  end
  return out
end

-- luacheck's own definitions of each runtime; "min" (every Lua's common part) if they move.
local ok, builtin = pcall(require, "luacheck.builtin_standards")
if ok and builtin.lua54 and builtin.luajit then
  stds.lua54_luajit = { read_globals = both(builtin.lua54.read_globals, builtin.luajit.read_globals) }
else
  stds.lua54_luajit = builtin and builtin.min or nil
end

std = "lua54"
read_globals = { "jit" } -- LuaJIT's module, probed to branch on the runtime
max_line_length = 120
codes = true

local dual = { std = "lua54_luajit" }
files["lua/"] = dual
files["bin/"] = dual
files["examples/"] = dual
files["spec/"] = { std = "+busted" }
for _, dir in ipairs{ "spec/unit/", "spec/emulator/", "spec/support/" } do
  files[dir] = { std = "lua54_luajit+busted" }
end
files["spec/install/"] = { std = "lua54+busted" }
files["lua/tcssl/json.lua"] = { globals = {} }
exclude_files = { "build/", "bench/node_modules/" }
-- OpenResty code: the `ngx` API (luacheck's ngx_lua set) only where it is used
files["examples/openresty/"] = { std = "ngx_lua" }
files["spec/nginx/app.lua"] = { std = "ngx_lua+busted" }
files["spec/nginx/phases_logging_app.lua"] = { std = "ngx_lua" }
