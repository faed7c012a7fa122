/* libFuzzer target: core.unzip through tcssl.core's Lua API, with archives from outside (a
 * DownloadCertificate Content, a download link's body). Bad archives must give nil, err,
 * never a crash, a leak (LeakSanitizer) or a raise; bounded limits must hold; whatever is
 * read must write back with core.zip and read back the same. */
#include <stddef.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

int luaopen_tcssl_core(lua_State *L);

static const char SCRIPT[] =
    "local core, data = ...\n"
    "local files = core.unzip(data)\n"
    "core.unzip(data, { max_entries = 2, max_bytes = 4096 })\n"
    "if files then\n"
    "  local total = 0\n"
    "  for _, f in ipairs(files) do total = total + #f.data end\n"
    "  assert(#files <= 1000 and total <= 64 * 1024 * 1024)\n"
    "  local again = core.zip(files, { mtime = 1704067200 })\n"
    "  if again then\n"
    "    local back = assert(core.unzip(again))\n"
    "    assert(#back == #files)\n"
    "    for i, f in ipairs(files) do assert(back[i].data == f.data) end\n"
    "  end\n"
    "end\n";

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
        __builtin_trap(); /* unzip returns nil, err on bad input; it never raises */
    lua_close(L);
    return 0;
}
