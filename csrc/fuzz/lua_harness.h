/* Shared body of the libFuzzer targets that drive tcssl.core through its Lua API: a fresh
 * Lua state runs `script` with (core, data). The functions under test return nil, err on bad
 * input and never raise, so a Lua error is a finding, as is any sanitizer report. */
#ifndef TCSSL_FUZZ_LUA_HARNESS_H
#define TCSSL_FUZZ_LUA_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

int luaopen_tcssl_core(lua_State *L);

static int run_core_script(const char *script, size_t script_len, const uint8_t *data, size_t size)
{
    lua_State *L = luaL_newstate();
    if (!L)
        return 0;
    luaL_openlibs(L);
    if (luaL_loadbuffer(L, script, script_len, "fuzz") != LUA_OK)
        __builtin_trap();
    lua_pushcfunction(L, luaopen_tcssl_core);
    lua_call(L, 0, 1);
    lua_pushlstring(L, (const char *)data, size);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK)
        __builtin_trap();
    lua_close(L);
    return 0;
}

#endif
