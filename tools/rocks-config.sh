#!/bin/sh
# Writes the LuaRocks configurations `make rocks-config` gives (mk/rocks.mk, README "LuaRocks"):
#   build/luarocks-config-5.4.lua    the installed Debian packages that stand for rocks
#   build/luarocks-config-luajit.lua the same, and LuaJIT 2.1 as Debian installs it
# A package counts when installed; its version becomes the rock's: 2.1.0+dfsg-2.2 -> 2.1.0-1.
set -eu
out=${1:-build}
mkdir -p "$out"
provided() {
  echo '-- Written by `make rocks-config` (tools/rocks-config.sh): Debian packages that stand for rocks.'
  echo 'rocks_provided = {'
  for pair in lua-cjson:lua-cjson lua-socket:luasocket lua-sec:luasec lua-luaossl:luaossl; do
    pkg=${pair%%:*} rock=${pair#*:}
    case "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" in
      *"install ok installed"*)
        version=$(dpkg-query -W -f='${Version}' "$pkg" | sed 's/^[0-9]*://; s/[-+~].*//')
        echo "  [\"$rock\"] = \"$version-1\"," ;;
    esac
  done
  echo '}'
}
provided >"$out/luarocks-config-5.4.lua.tmp"
mv "$out/luarocks-config-5.4.lua.tmp" "$out/luarocks-config-5.4.lua"
{
  provided
  echo '-- LuaJIT 2.1, which LuaRocks runs as Lua 5.1: its interpreter and headers on Debian.'
  echo 'lua_interpreter = "luajit"'
  echo 'variables = { LUA_DIR = "/usr", LUA_BINDIR = "/usr/bin", LUA_INCDIR = "/usr/include/luajit-2.1" }'
} >"$out/luarocks-config-luajit.lua.tmp"
mv "$out/luarocks-config-luajit.lua.tmp" "$out/luarocks-config-luajit.lua"
echo "$out/luarocks-config-5.4.lua $out/luarocks-config-luajit.lua"
