/* libFuzzer target: the certificate, key and base64 functions through tcssl.core's Lua API,
 * as the emulator and helpers call them with bytes from outside. Exercises the error paths and
 * the userdata that frees OpenSSL objects (LeakSanitizer reports anything left). */
#include <stddef.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

int luaopen_tcssl_core(lua_State *L);

static const char SCRIPT[] =
    "local core, data = ...\n"
    "local half = #data // 2\n"
    "local a, b = data:sub(1, half), data:sub(half + 1)\n"
    "core.x509_parse(data)\n"
    "core.private_key_info(data)\n"
    "core.key_matches(a, b)\n"
    "core.unbase64(data)\n"
    "core.v1_sign('HmacSHA1', a, b)\n"
    "core.hmac('sha256', b, a, 'base64')\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_State *L = luaL_newstate();
    if (!L)
        return 0;
    luaL_openlibs(L);
    if (luaL_loadbuffer(L, SCRIPT, sizeof SCRIPT - 1, "fuzz") != LUA_OK)
        __builtin_trap();
    lua_pushcfunction(L, luaopen_tcssl_core);
    lua_call(L, 0, 1);
    lua_pushlstring(L, (const char *)data, size);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK)
        __builtin_trap(); /* these functions return nil, err on bad input; they never raise */
    lua_close(L);
    return 0;
}
