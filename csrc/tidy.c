/* tcssl.core.tidy: one pass over a tree of Lua tables, in place. It knows nothing of JSON
 * text; tcssl.json runs it over what lua-cjson has built, because the same walk in Lua costs
 * half as much again as cjson's own decode on a large response (the traversal alone).
 *
 *   tidy(t, null, array_mt, empty_is_array, check_big) -> nil | "big"
 *
 * For every table reachable from t (t included):
 *   - a value equal to `null` (a light userdata: cjson.null) is removed;
 *   - a float that holds an integral value representable as a Lua integer becomes that
 *     integer (Lua 5.3+ only; -0.0 stays a float);
 *   - a table whose first key (in traversal order) is a number gets metatable array_mt, and so
 *     does an empty table when empty_is_array is true; other tables are left without one.
 * With check_big, the walk stops at the first number of magnitude 2^53 or more and returns
 * "big" (the caller then knows the text may hold an integer that a double rounded); the
 * tables are then only partly tidied. Deeper than 1000 levels (or a table that contains
 * itself) raises an error, as a wrong argument does. */
#include <math.h>

#include "tcssl.h"

#define TWO53 9007199254740992.0
#define TIDY_MAX_DEPTH 1000 /* as deep as tcssl.json reads; a table that contains itself stops here */

typedef struct {
    const void *null;
    int array_mt;      /* stack index of the array metatable */
    int empty_is_array;
    int check_big;
} tidy_opts;

static int tidy_table(lua_State *L, int t, const tidy_opts *o, int depth)
{
    if (depth > TIDY_MAX_DEPTH)
        return luaL_error(L, "tcssl.core.tidy: tables nested deeper than %d levels", TIDY_MAX_DEPTH);
    luaL_checkstack(L, 4, "tcssl.core.tidy: tables nested too deeply");
    lua_pushnil(L);
    if (!lua_next(L, t)) {
        if (o->empty_is_array) {
            lua_pushvalue(L, o->array_mt);
            lua_setmetatable(L, t);
        }
        return 0;
    }
    if (lua_type(L, -2) == LUA_TNUMBER) {
        lua_pushvalue(L, o->array_mt);
        lua_setmetatable(L, t);
    }
    do {
        /* stack: key, value */
        switch (lua_type(L, -1)) {
        case LUA_TNUMBER: {
#if LUA_VERSION_NUM >= 503
            if (o->check_big || !lua_isinteger(L, -1)) {
#else
            if (o->check_big) {
#endif
                lua_Number n = lua_tonumber(L, -1);
                if (o->check_big && (n >= TWO53 || n <= -TWO53)) {
                    lua_pop(L, 2);
                    return 1;
                }
#if LUA_VERSION_NUM >= 503
                lua_Integer i;
                if (!lua_isinteger(L, -1) && n == floor(n) && n >= -9223372036854775808.0 &&
                    n < 9223372036854775808.0 && (n != 0 || !signbit(n))) {
                    i = (lua_Integer)n;
                    lua_pushvalue(L, -2);
                    lua_pushinteger(L, i);
                    lua_rawset(L, t);
                }
#endif
            }
            break;
        }
        case LUA_TTABLE:
            if (tidy_table(L, lua_gettop(L), o, depth + 1)) {
                lua_pop(L, 2);
                return 1;
            }
            break;
        case LUA_TLIGHTUSERDATA:
            if (lua_touserdata(L, -1) == o->null) {
                /* clearing a field during traversal is allowed */
                lua_pushvalue(L, -2);
                lua_pushnil(L);
                lua_rawset(L, t);
            }
            break;
        default:
            break;
        }
        lua_pop(L, 1);
    } while (lua_next(L, t));
    return 0;
}

static int l_tidy(lua_State *L)
{
    tidy_opts o;
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TLIGHTUSERDATA);
    luaL_checktype(L, 3, LUA_TTABLE);
    o.null = lua_touserdata(L, 2);
    o.array_mt = 3;
    o.empty_is_array = lua_toboolean(L, 4);
    o.check_big = lua_toboolean(L, 5);
    lua_settop(L, 3);
    if (tidy_table(L, 1, &o, 1)) {
        lua_pushliteral(L, "big");
        return 1;
    }
    return 0;
}

void tcssl_open_tidy(lua_State *L)
{
    lua_pushcfunction(L, l_tidy);
    lua_setfield(L, -2, "tidy");
}
