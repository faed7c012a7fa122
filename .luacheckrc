-- luacheck configuration for tcssl
std = "lua54"
read_globals = { "jit" } -- LuaJIT's module, probed to branch on the runtime
max_line_length = 120
codes = true

files["spec/"] = { std = "+busted" }
files["lua/tcssl/json.lua"] = { globals = {} }
exclude_files = { "build/", "bench/node_modules/" }
