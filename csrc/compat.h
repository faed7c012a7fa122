/* Small bridge between the Lua 5.4 C API and LuaJIT's Lua 5.1 C API. */
#ifndef TCSSL_COMPAT_H
#define TCSSL_COMPAT_H

#include <string.h>

#include <lua.h>
#include <lauxlib.h>

/* Lua 5.3, 5.4 or LuaJIT 2.1 (whose luaconf.h names LUA_LJDIR): PUC Lua 5.1 and 5.2 lack the
 * C API the core uses (luaL_setmetatable, luaL_setfuncs, integers), and the Lua modules need goto
 * and integers, so they are refused here rather than failing when the module is loaded. */
#if LUA_VERSION_NUM < 503 && !defined(LUA_LJDIR)
#error "tcssl needs Lua 5.3, Lua 5.4 or LuaJIT 2.1 (PUC Lua 5.1 and 5.2 are not supported)"
#endif

#if LUA_VERSION_NUM < 502
#define tcssl_rawlen(L, i) lua_objlen((L), (i))
#else
#define tcssl_rawlen(L, i) lua_rawlen((L), (i))
#endif

/* lua_getfield returns the type from 5.3 on; 5.1 returns nothing. */
static inline int tcssl_getfield(lua_State *L, int idx, const char *k)
{
    lua_getfield(L, idx, k);
    return lua_type(L, -1);
}

/* The table on top (popped) becomes the user value of the userdata at idx; tcssl_getuservalue
 * pushes it back. */
static inline void tcssl_setuservalue(lua_State *L, int idx)
{
#if LUA_VERSION_NUM >= 504
    lua_setiuservalue(L, idx, 1);
#elif LUA_VERSION_NUM == 503
    lua_setuservalue(L, idx);
#else
    lua_setfenv(L, idx);
#endif
}

static inline void tcssl_getuservalue(lua_State *L, int idx)
{
#if LUA_VERSION_NUM >= 504
    lua_getiuservalue(L, idx, 1);
#elif LUA_VERSION_NUM == 503
    lua_getuservalue(L, idx);
#else
    lua_getfenv(L, idx);
#endif
}

/* A zeroed userdata of `size` bytes whose metatable `mt` (made on first use) frees what it
 * holds with `gc`: C code parks resources there so that a Lua error cannot leak them. */
static inline void *tcssl_guard(lua_State *L, size_t size, const char *mt, lua_CFunction gc)
{
    void *p = lua_newuserdata(L, size);
    memset(p, 0, size);
    if (luaL_newmetatable(L, mt)) {
        lua_pushcfunction(L, gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return p;
}

#endif
