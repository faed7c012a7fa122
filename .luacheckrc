-- luacheck configuration for tcssl
std = "lua54"
read_globals = { "jit" } -- LuaJIT's module, probed to branch on the runtime
max_line_length = 120
codes = true

files["spec/"] = { std = "+busted" }
files["lua/tcssl/json.lua"] = { globals = {} }
exclude_files = { "build/", "bench/node_modules/" }
-- OpenResty code: the `ngx` API (luacheck's ngx_lua set) only where it is used
files["examples/openresty/"] = { std = "+ngx_lua" }
files["spec/nginx/app.lua"] = { std = "+ngx_lua" }
files["spec/nginx/phases_logging_app.lua"] = { std = "+ngx_lua" }
