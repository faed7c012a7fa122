/*
 * tcssl-host: a C program that embeds Lua 5.4 and tcssl.
 *
 *   tcssl-host SCRIPT [ARG...]
 *
 * The tcssl core is linked into this program (the csrc/ sources) and registered as the module
 * "tcssl.core" with luaL_requiref, so no core.so is loaded; the Lua half of tcssl is found
 * through package.path under $TCSSL_ROOT/lua (default: the checkout this was built from).
 * The script gets ARG... in `...` and returns either a report table
 *
 *   { total = <integer>, request_id = <string>, certificates = { { id =, domain =, ends = }, ... } }
 *
 * or nil and a tcssl error. The program prints what it reads back from that table and exits
 * 0 on a report, 1 on a tcssl error, 2 on a usage or Lua error.
 *
 * Build (what mk/host.mk does):
 *   cc -std=c99 -I/usr/include/lua5.4 -DTCSSL_VERSION='"0.1.0"' -DTCSSL_ROOT='"'$PWD'"' \
 *      -o tcssl-host examples/host/host.c csrc/[a-z]*.c -llua5.4 -lcurl -lcrypto -lzip
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#ifndef TCSSL_ROOT
#define TCSSL_ROOT "."
#endif

/* The core's entry point, from csrc/core.c. */
int luaopen_tcssl_core(lua_State *L);

enum { EXIT_REPORT = 0, EXIT_API_ERROR = 1, EXIT_LUA_ERROR = 2 };

/* Message handler for lua_pcall: the error with a traceback. */
static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL)
        msg = luaL_tolstring(L, 1, NULL);
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* package.path = ROOT/lua/?.lua;ROOT/lua/?/init.lua;<the default> */
static void set_path(lua_State *L, const char *root)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s/lua/?.lua;%s/lua/?/init.lua;%s", root, root, lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_pop(L, 2);
}

/* A string field of the table at the top of the stack, or "-". */
static const char *string_field(lua_State *L, const char *name, char *buf, size_t size)
{
    lua_getfield(L, -1, name);
    const char *s = lua_tostring(L, -1);
    snprintf(buf, size, "%s", s ? s : "-");
    lua_pop(L, 1);
    return buf;
}

/* Prints the report table at stack index idx. Returns 0, or -1 when it is not a report. */
static int print_report(lua_State *L, int idx)
{
    char id[128], domain[256], ends[64];
    int isnum = 0;
    lua_getfield(L, idx, "total");
    lua_Integer total = lua_tointegerx(L, -1, &isnum);
    lua_pop(L, 1);
    if (!isnum)
        return -1;
    lua_pushvalue(L, idx);
    printf("total %lld\n", (long long)total);
    printf("request_id %s\n", string_field(L, "request_id", id, sizeof id));
    lua_getfield(L, -1, "certificates");
    if (lua_istable(L, -1)) {
        lua_Integer n = luaL_len(L, -1);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_geti(L, -1, i);
            if (lua_istable(L, -1))
                printf("certificate %s %s %s\n", string_field(L, "id", id, sizeof id),
                       string_field(L, "domain", domain, sizeof domain), string_field(L, "ends", ends, sizeof ends));
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 2);
    return 0;
}

static int run(lua_State *L, int argc, char **argv)
{
    luaL_openlibs(L);
    /* tcssl.core from this program, not from a shared object on package.cpath */
    luaL_requiref(L, "tcssl.core", luaopen_tcssl_core, 0);
    lua_pop(L, 1);
    const char *root = getenv("TCSSL_ROOT");
    set_path(L, root && *root ? root : TCSSL_ROOT);

    lua_pushcfunction(L, traceback);
    int handler = lua_gettop(L);
    if (luaL_loadfile(L, argv[1]) != LUA_OK) {
        fprintf(stderr, "tcssl-host: %s\n", lua_tostring(L, -1));
        return EXIT_LUA_ERROR;
    }
    for (int i = 2; i < argc; i++)
        lua_pushstring(L, argv[i]);
    if (lua_pcall(L, argc - 2, 2, handler) != LUA_OK) {
        fprintf(stderr, "tcssl-host: %s\n", lua_tostring(L, -1));
        return EXIT_LUA_ERROR;
    }
    int result = handler + 1;
    if (lua_istable(L, result) && print_report(L, result) == 0)
        return EXIT_REPORT;
    if (lua_isnil(L, result) && !lua_isnil(L, result + 1)) {
        /* a tcssl error object: its __tostring names kind, code and message */
        lua_getfield(L, result + 1, "code");
        printf("error %s\n", lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
        lua_pop(L, 1);
        fprintf(stderr, "tcssl-host: %s\n", luaL_tolstring(L, result + 1, NULL));
        return EXIT_API_ERROR;
    }
    fprintf(stderr, "tcssl-host: %s returned neither a report table nor nil and an error\n", argv[1]);
    return EXIT_LUA_ERROR;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRIPT [ARG...]\n", argv[0]);
        return EXIT_LUA_ERROR;
    }
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        fprintf(stderr, "tcssl-host: cannot create a Lua state\n");
        return EXIT_LUA_ERROR;
    }
    int status = run(L, argc, argv);
    fflush(stdout);
    lua_close(L);
    return status;
}
