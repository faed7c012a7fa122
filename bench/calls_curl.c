/* The floors for calls, as programs of the round protocol (bench/rounds.h, bench/lib.lua):
 * bare libcurl sending the pre-signed DescribeCertificates request that `bench/calls.lua
 * presign` wrote, over and over on one easy handle (one kept-alive connection), with the
 * options tcssl's core sets on its handle (csrc/http.c: no signals, a header callback,
 * http/https only, no redirects, every content coding libcurl knows, TCP keep-alive, peer and
 * host verification, its User-Agent, timeouts), set once. Each response body is collected
 * into a reused buffer and its status checked.
 *
 * Built with -DWITH_LUA (and a Lua's headers and library: Lua 5.4 or LuaJIT) it is the fair
 * floor for a client that returns Lua tables: the same loop, then cjson.decode called from C
 * on every body, in a Lua state embedded in the program.
 *
 *   calls_curl REQUEST_FILE [CA_FILE]
 *
 * REQUEST_FILE: the method, the URL, one "Name: value" header per line, an empty line, the
 * body. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#ifdef WITH_LUA
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#endif

#include "rounds.h"

#ifndef USER_AGENT
#define USER_AGENT "tcssl"
#endif
#define MAX_REQUEST (64 * 1024)

typedef struct {
    char *data;
    size_t len, cap;
} buffer;

static buffer body;
static long failures, connects, requests, header_bytes;
#ifdef WITH_LUA
static lua_State *L;
static int decode_ref;
#endif

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    buffer *b = ud;
    size_t len = size * n;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + len)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, len);
    b->len += len;
    return len;
}

/* tcssl's core reads every header line; the floor only counts their bytes */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    header_bytes += (long)(size * n);
    return size * n;
}

static void perform(void *ctx, long n)
{
    CURL *h = ctx;
    for (long i = 0; i < n; i++) {
        long status = 0, c = 0;
        body.len = 0;
        requests++;
        if (curl_easy_perform(h) != CURLE_OK ||
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200 ||
            body.len == 0)
            failures++;
        if (curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &c) == CURLE_OK)
            connects += c;
#ifdef WITH_LUA
        lua_rawgeti(L, LUA_REGISTRYINDEX, decode_ref);
        lua_pushlstring(L, body.data, body.len);
        if (lua_pcall(L, 1, 1, 0) != 0 || !lua_istable(L, -1))
            failures++;
        lua_pop(L, 1);
#endif
    }
}

/* Splits the request file in place: method, URL, header lines, body. */
static int parse_request(char *text, char **url, struct curl_slist **headers, char **payload)
{
    char *line = text, *eol;
    int n = 0;
    while ((eol = strchr(line, '\n'))) {
        *eol = '\0';
        if (n == 1)
            *url = line;
        else if (n > 1 && *line == '\0') {
            *payload = eol + 1;
            return 0;
        } else if (n > 1) {
            struct curl_slist *l = curl_slist_append(*headers, line);
            if (!l)
                return -1;
            *headers = l;
        }
        n++;
        line = eol + 1;
    }
    return -1;
}

int main(int argc, char **argv)
{
    static char request[MAX_REQUEST];
    char *url = NULL, *payload = NULL;
    struct curl_slist *headers = NULL;

    if (argc < 2) {
        fprintf(stderr, "usage: calls_curl REQUEST_FILE [CA_FILE]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    size_t len = f ? fread(request, 1, sizeof request - 1, f) : 0;
    if (f)
        fclose(f);
    request[len] = '\0';
    if (len == 0 || parse_request(request, &url, &headers, &payload) != 0) {
        fprintf(stderr, "calls_curl: cannot read the request in %s\n", argv[1]);
        return 1;
    }
#ifdef WITH_LUA
    L = luaL_newstate();
    if (!L)
        return 1;
    luaL_openlibs(L);
#ifdef LUA_GCGEN
    /* the collector in the mode the measured client runs in: the lua5.4 interpreter, whose
     * bench/calls.lua the floor is compared with, switches its state to generational mode at
     * start (an embedded state such as this one starts incremental) */
    lua_gc(L, LUA_GCGEN, 0, 0);
#endif
    lua_getglobal(L, "require");
    lua_pushstring(L, "cjson");
    if (lua_pcall(L, 1, 1, 0) != 0) {
        fprintf(stderr, "calls_curl: %s\n", lua_tostring(L, -1));
        return 1;
    }
    lua_getfield(L, -1, "decode");
    decode_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 1);
#endif

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *h = curl_easy_init();
    if (!h)
        return 1;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
    if (argc > 2)
        curl_easy_setopt(h, CURLOPT_CAINFO, argv[2]);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(payload));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);

    perform(h, 1);
    if (failures) {
        fprintf(stderr, "calls_curl: the first request failed\n");
        return 1;
    }
    rounds_serve(perform, h, 1);
    printf("{\"final\":true,\"failures\":%ld,\"connects\":%ld,\"requests\":%ld,\"body_bytes\":%zu}\n",
           failures, connects, requests, body.len);
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    free(body.data);
    curl_global_cleanup();
#ifdef WITH_LUA
    lua_close(L);
#endif
    return failures ? 1 : 0;
}
