/* tcssl.core: the Lua face of the signing functions, plus module registration. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "sign.h"
#include "tcssl.h"

#define CRYPTO_MT "tcssl.crypto"

/* Every signing function gets the per-state crypto context as upvalue 1. */
static tc_crypto *crypto(lua_State *L)
{
    tc_crypto **pc = lua_touserdata(L, lua_upvalueindex(1));
    if (!pc || !*pc)
        luaL_error(L, "tcssl.core: crypto context unavailable");
    return *pc;
}

static int crypto_gc(lua_State *L)
{
    tc_crypto **pc = luaL_checkudata(L, 1, CRYPTO_MT);
    tc_crypto_free(*pc);
    *pc = NULL;
    return 0;
}

static int crypto_fail(lua_State *L, const char *what)
{
    return luaL_error(L, "tcssl.core: %s failed", what);
}

static void push_hex(lua_State *L, const unsigned char *d, size_t n)
{
    char hex[2 * 64];
    tc_hex(d, n, hex);
    lua_pushlstring(L, hex, 2 * n);
}

static void push_base64(lua_State *L, const unsigned char *d, size_t n)
{
    char *out = lua_newuserdata(L, 4 * ((n + 2) / 3) + 1);
    size_t len = tc_base64(d, n, out);
    lua_pushlstring(L, out, len);
    lua_remove(L, -2);
}

static void push_encoded(lua_State *L, const unsigned char *d, size_t n, int enc)
{
    if (enc == 1)
        push_hex(L, d, n);
    else if (enc == 2)
        push_base64(L, d, n);
    else
        lua_pushlstring(L, (const char *)d, n);
}

static const char *const alg_names[] = {"sha1", "sha256", NULL};
static const char *const enc_names[] = {"raw", "hex", "base64", NULL};

/* sha256(data [, enc]) with enc "raw" (default), "hex" or "base64" */
static int l_sha256(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    int enc = luaL_checkoption(L, 2, "raw", enc_names);
    unsigned char d[TC_SHA256_LEN];
    if (tc_sha256(crypto(L), s, n, d) != 0)
        return crypto_fail(L, "sha256");
    push_encoded(L, d, sizeof d, enc);
    return 1;
}

static int l_sha256_hex(lua_State *L)
{
    lua_settop(L, 1);
    lua_pushliteral(L, "hex");
    return l_sha256(L);
}

static int l_hmac(lua_State *L)
{
    int alg = luaL_checkoption(L, 1, NULL, alg_names) == 0 ? TC_SHA1 : TC_SHA256;
    size_t kl, dl, ml = 0;
    const char *k = luaL_checklstring(L, 2, &kl);
    const char *d = luaL_checklstring(L, 3, &dl);
    int enc = luaL_checkoption(L, 4, "raw", enc_names);
    unsigned char mac[TC_SHA256_LEN];
    if (tc_hmac(crypto(L), alg, k, kl, d, dl, mac, &ml) != 0)
        return crypto_fail(L, "hmac");
    push_encoded(L, mac, ml, enc);
    return 1;
}

static int l_hex(lua_State *L)
{
    size_t n;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
    char *out = lua_newuserdata(L, 2 * n + 1);
    tc_hex(s, n, out);
    lua_pushlstring(L, out, 2 * n);
    lua_remove(L, -2);
    return 1;
}

static int l_base64(lua_State *L)
{
    size_t n;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
    push_base64(L, s, n);
    return 1;
}

static int l_unbase64(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    unsigned char *out = lua_newuserdata(L, 3 * (n / 4) + 3);
    long len = tc_unbase64(s, n, out);
    if (len < 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "invalid base64");
        return 2;
    }
    lua_pushlstring(L, (const char *)out, (size_t)len);
    return 1;
}

/* Reads a required string field of the table at index 1. */
static const char *field_str(lua_State *L, const char *k, size_t *len)
{
    if (tcssl_getfield(L, 1, k) != LUA_TSTRING)
        luaL_error(L, "tcssl.core: field '%s' must be a string", k);
    const char *s = lua_tolstring(L, -1, len);
    lua_pop(L, 1); /* still referenced by the table, so the pointer stays valid */
    return s;
}

static void set_header(tc_header *h, const char *name, size_t nl, const char *value, size_t vl)
{
    h->name = name;
    h->name_len = nl;
    h->value = value;
    h->value_len = vl;
}

static int l_tc3_sign(lua_State *L)
{
    tc3_input in;
    tc_header headers[TC_MAX_HEADERS];
    char sig[2 * TC_SHA256_LEN + 1], request_hash[2 * TC_SHA256_LEN + 1], date[11];
    size_t id_len, host_len, ct_len, n = 0;
    const char *id, *host, *ct;

    luaL_checktype(L, 1, LUA_TTABLE);
    memset(&in, 0, sizeof in);
    id = field_str(L, "secret_id", &id_len);
    in.secret_key = field_str(L, "secret_key", &in.secret_key_len);
    in.service = field_str(L, "service", &in.service_len);
    host = field_str(L, "host", &host_len);
    in.method = field_str(L, "method", &in.method_len);
    in.query = field_str(L, "query", &in.query_len);
    ct = field_str(L, "content_type", &ct_len);
    in.payload = field_str(L, "payload", &in.payload_len);
    if (tcssl_getfield(L, 1, "timestamp") != LUA_TNUMBER)
        return luaL_error(L, "tcssl.core: field 'timestamp' must be a number");
    lua_Number ts = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (!(ts >= 0 && ts < TC_MAX_TIMESTAMP))
        return luaL_error(L, "tcssl.core: timestamp out of range");
    in.timestamp = (long long)ts;
    if (in.service_len == 0 || in.service_len > TC_MAX_SERVICE)
        return luaL_error(L, "tcssl.core: bad service name");

    set_header(&headers[n++], "content-type", 12, ct, ct_len);
    set_header(&headers[n++], "host", 4, host, host_len);
    if (tcssl_getfield(L, 1, "headers") == LUA_TTABLE) {
        int t = lua_gettop(L);
        lua_pushnil(L);
        while (lua_next(L, t)) {
            size_t nl, vl;
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
                return luaL_error(L, "tcssl.core: signed headers must map strings to strings");
            if (n == TC_MAX_HEADERS)
                return luaL_error(L, "tcssl.core: too many signed headers");
            const char *name = lua_tolstring(L, -2, &nl);
            const char *value = lua_tolstring(L, -1, &vl);
            set_header(&headers[n++], name, nl, value, vl);
            lua_pop(L, 1);
        }
    } /* the headers table stays on the stack, keeping its strings alive */
    in.headers = headers;
    in.n_headers = n;
    if (tc3_signature(crypto(L), &in, sig, request_hash, date) != 0)
        return luaL_error(L, "tcssl.core: cannot sign (bad timestamp, duplicate header or "
                             "OpenSSL failure)");

    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "TC3-HMAC-SHA256 Credential=");
    luaL_addlstring(&b, id, id_len);
    luaL_addchar(&b, '/');
    luaL_addstring(&b, date);
    luaL_addchar(&b, '/');
    luaL_addlstring(&b, in.service, in.service_len);
    luaL_addstring(&b, "/tc3_request, SignedHeaders=");
    for (size_t i = 0; i < n; i++) {
        if (i)
            luaL_addchar(&b, ';');
        for (size_t j = 0; j < headers[i].name_len; j++) {
            char ch = headers[i].name[j];
            luaL_addchar(&b, ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch);
        }
    }
    luaL_addstring(&b, ", Signature=");
    luaL_addlstring(&b, sig, 2 * TC_SHA256_LEN);
    luaL_pushresult(&b);
    lua_pushlstring(L, sig, 2 * TC_SHA256_LEN);
    lua_pushlstring(L, request_hash, 2 * TC_SHA256_LEN);
    return 3;
}

static int is_date(const char *d)
{
    for (int i = 0; i < 10; i++) {
        int digit = d[i] >= '0' && d[i] <= '9';
        if ((i == 4 || i == 7) ? d[i] != '-' : !digit)
            return 0;
    }
    return 1;
}

static int l_tc3_derive(lua_State *L)
{
    size_t kl, dl, sl;
    const char *k = luaL_checklstring(L, 1, &kl);
    const char *d = luaL_checklstring(L, 2, &dl);
    const char *s = luaL_checklstring(L, 3, &sl);
    unsigned char out[TC_SHA256_LEN];
    char date[11];
    if (dl != 10 || !is_date(d))
        return luaL_argerror(L, 2, "date must be YYYY-MM-DD");
    memcpy(date, d, 10);
    date[10] = '\0';
    if (tc3_derive(crypto(L), k, kl, date, s, sl, out) != 0)
        return crypto_fail(L, "tc3_derive");
    lua_pushlstring(L, (const char *)out, sizeof out);
    OPENSSL_cleanse(out, sizeof out);
    return 1;
}

static int l_utc_date(lua_State *L)
{
    char date[11];
    lua_Number t = luaL_checknumber(L, 1);
    if (!(t >= 0 && t < TC_MAX_TIMESTAMP) || tc_utc_date((long long)t, date) != 0)
        return luaL_argerror(L, 1, "timestamp out of range");
    lua_pushstring(L, date);
    return 1;
}

static const char *const v1_names[] = {"HmacSHA1", "HmacSHA256", NULL};

static int l_v1_sign(lua_State *L)
{
    int alg = luaL_checkoption(L, 1, NULL, v1_names) == 0 ? TC_SHA1 : TC_SHA256;
    size_t kl, sl, ml = 0;
    const char *k = luaL_checklstring(L, 2, &kl);
    const char *s = luaL_checklstring(L, 3, &sl);
    unsigned char mac[TC_SHA256_LEN];
    if (tc_hmac(crypto(L), alg, k, kl, s, sl, mac, &ml) != 0)
        return crypto_fail(L, "hmac");
    push_base64(L, mac, ml);
    return 1;
}

static int l_random(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0 && n <= 4096, 1, "between 0 and 4096 bytes");
    unsigned char *buf = lua_newuserdata(L, (size_t)n + 1);
    if (RAND_bytes(buf, (int)n) != 1)
        return crypto_fail(L, "RAND_bytes");
    lua_pushlstring(L, (const char *)buf, (size_t)n);
    return 1;
}

/* monotonic() -> seconds from an arbitrary start, for measuring durations */
static int l_monotonic(lua_State *L)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return luaL_error(L, "tcssl.core: clock_gettime failed");
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

/* sleep(seconds): blocks the thread; plain Lua only (OpenResty code uses ngx.sleep) */
static int l_sleep(lua_State *L)
{
    lua_Number s = luaL_checknumber(L, 1);
    struct timespec ts;
    if (!(s > 0))
        return 0;
    if (s > 86400)
        s = 86400;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (lua_Number)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0)
        ; /* interrupted by a signal: sleep the rest */
    return 0;
}

static const luaL_Reg crypto_funcs[] = {
    {"monotonic", l_monotonic},
    {"sleep", l_sleep},
    {"random", l_random},
    {"sha256", l_sha256},   {"sha256_hex", l_sha256_hex}, {"hmac", l_hmac},
    {"hex", l_hex},         {"base64", l_base64},         {"unbase64", l_unbase64},
    {"tc3_sign", l_tc3_sign}, {"tc3_derive", l_tc3_derive}, {"utc_date", l_utc_date},
    {"v1_sign", l_v1_sign}, {NULL, NULL}};

#if defined(_WIN32)
#define TCSSL_EXPORT __declspec(dllexport)
#else
#define TCSSL_EXPORT __attribute__((visibility("default")))
#endif

TCSSL_EXPORT int luaopen_tcssl_core(lua_State *L)
{
    lua_newtable(L);
    tc_crypto **pc = tcssl_guard(L, sizeof *pc, CRYPTO_MT, crypto_gc);
    *pc = tc_crypto_new();
    if (!*pc)
        return luaL_error(L, "tcssl.core: cannot initialise OpenSSL digests");
    lua_pushvalue(L, -1); /* the context stays below the module table for session:call */
    lua_insert(L, -3);
    luaL_setfuncs(L, crypto_funcs, 1);
    lua_pushliteral(L, TCSSL_VERSION);
    lua_setfield(L, -2, "version");
    tcssl_open_http(L, lua_gettop(L) - 1);
    tcssl_open_x509(L);
    tcssl_open_zip(L);
    tcssl_open_json(L);
    tcssl_open_json_write(L);
    tcssl_open_tidy(L);
    tcssl_open_files(L);
    return 1;
}
