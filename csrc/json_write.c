/* tcssl.core.json_encode: Lua values to compact JSON text, in one pass, as tcssl.json.encode
 * documents them (numbers exact, marked arrays, no escaped '/').
 *
 *   json_encode(value, null, array_mt, number_mt) -> text | nil, message, keys
 *
 * keys, on a failure inside a table, lists the keys from the top-level value down to the
 * table where it happened (tcssl.json formats them as a path: $.a[2]); it is nil for a fault
 * that has no place (the top-level value itself, nesting too deep, a table in itself).
 *
 * What is written:
 *   - nil (an array's hole) and null as null, booleans, strings with '"', '\\' and the bytes
 *     below 0x20 and 0x7F escaped (\b \t \n \f \r by name, the others as \u00XX), every other
 *     byte as it is;
 *   - a number_mt table as its text, digit for digit;
 *   - integers exactly; under LuaJIT an integral number below 2^53 in magnitude as its digits;
 *     -0 as -0; other floats in the shortest of %.14g .. %.17g that reads back equal (the
 *     locale's decimal point made '.'); NaN and infinities refused;
 *   - a table marked with array_mt as an array ([] when empty; a key that is not a positive
 *     integer is refused); an unmarked table whose keys are all integers from 1 below 1e14 as
 *     an array, holes as null; a table is refused as an array when its largest index is over
 *     10 and over twice its count of items; any other table as an object ({} when empty),
 *     number keys written as their text in quotes, other key types refused;
 *   - tables read raw, in the order of lua_next, other metatables ignored; deeper than 1000
 *     levels, or a table inside itself, refused.
 * The output buffer belongs to the function's upvalue, so nothing leaks when a Lua error (out
 * of memory) interrupts it. With more than one fault in a value, the first one met is named. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcssl.h"

#define KEEP_MAX (1u << 20) /* a buffer grown beyond this is freed after the call */
#define INDEX_MAX 1e14      /* an unmarked table with a number key from here on is an object */

enum { HAS_PATH = 1 };

/* The state of one encode, kept in the function's upvalue between calls (an encode never runs
 * Lua code, so no other can start while one runs). */
typedef struct {
    lua_State *L;
    int null_idx, array_idx, number_idx;
    const char *err;   /* the failure's message, NULL while none */
    int err_flags;     /* HAS_PATH when keys locate it */
    int err_depth;     /* the depth of the table it is in (0: the top-level value) */
    char msg[200];     /* a message made for the failure, when err points here */
    /* the output, kept from call to call */
    char *data;
    size_t len, cap;
    /* by depth d (1: the top-level table): the table, and the key being written: a stack index
     * (an object) or the index itself (an array) */
    const void *tables[JSON_MAX_DEPTH + 2];
    lua_Integer keys[JSON_MAX_DEPTH + 2];
    unsigned char key_is_index[JSON_MAX_DEPTH + 2];
} encoder;

static const char E_DEPTH[] = "nesting deeper than 1000 levels";
static const char E_CYCLE[] = "cannot encode a table that contains itself";
static const char E_NAN[] = "cannot encode NaN or infinity";
static const char E_NAN_KEY[] = "cannot encode NaN or infinity as a table key";
static const char E_SPARSE[] = "cannot encode an excessively sparse array";
static const char E_MEMORY[] = "out of memory";

/* The escape of each byte: 0 for itself, 1 for \u00XX, else the letter after the backslash. */
static const unsigned char ESCAPE[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 'b', 't', 'n', 1, 'f', 'r', 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, '"', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\\', 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
};

static int fault(encoder *e, const char *msg, int depth, int flags)
{
    if (!e->err) {
        e->err = msg;
        e->err_depth = depth;
        e->err_flags = flags;
    }
    return -1;
}

/* Room for `more` bytes after the output. */
static int grow(encoder *e, size_t more)
{
    size_t cap = e->cap ? e->cap : 256;
    char *d;
    if (more <= e->cap - e->len)
        return 0;
    while (cap - e->len < more) {
        if (cap > SIZE_MAX / 2)
            return fault(e, E_MEMORY, 0, 0);
        cap *= 2;
    }
    d = realloc(e->data, cap);
    if (!d)
        return fault(e, E_MEMORY, 0, 0);
    e->data = d;
    e->cap = cap;
    return 0;
}

static int put(encoder *e, const char *s, size_t n)
{
    if (grow(e, n))
        return -1;
    memcpy(e->data + e->len, s, n);
    e->len += n;
    return 0;
}

#define PUT_LITERAL(e, s) put((e), (s), sizeof(s) - 1)

static int put_string(encoder *e, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t i, run = 0, need = n + 2;
    char *o;
    for (i = 0; i < n; i++)
        if (ESCAPE[u[i]])
            need += ESCAPE[u[i]] == 1 ? 5 : 1;
    if (need < n || grow(e, need))
        return need < n ? fault(e, E_MEMORY, 0, 0) : -1;
    o = e->data + e->len;
    *o++ = '"';
    if (need > n + 2) {
        for (i = 0; i < n; i++) {
            unsigned char x = ESCAPE[u[i]];
            if (!x)
                continue;
            memcpy(o, s + run, i - run);
            o += i - run;
            run = i + 1;
            *o++ = '\\';
            if (x == 1) {
                memcpy(o, "u00", 3);
                o[3] = hex[u[i] >> 4];
                o[4] = hex[u[i] & 15];
                o += 5;
            } else {
                *o++ = (char)x;
            }
        }
    }
    memcpy(o, s + run, n - run);
    o += n - run;
    *o++ = '"';
    e->len = (size_t)(o - e->data);
    return 0;
}

/* The digits of v. */
static int put_int(encoder *e, int64_t v)
{
    char digits[24], *p = digits + sizeof digits;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return put(e, p, (size_t)(digits + sizeof digits - p));
}

/* A float in the shortest of %.14g .. %.17g that reads back as x, with '.' for the locale's
 * decimal point (a run of other bytes becomes one '.'). */
static int put_float(encoder *e, double x)
{
    char s[48], o[48];
    size_t i, k = 0;
    int prec;
    for (prec = 14; prec < 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, x);
        if (strtod(s, NULL) == x)
            break;
    }
    if (prec == 17)
        snprintf(s, sizeof s, "%.17g", x);
    for (i = 0; s[i]; i++) {
        char c = s[i];
        if ((c >= '0' && c <= '9') || c == 'e' || c == 'E' || c == '+' || c == '-')
            o[k++] = c;
        else if (k == 0 || o[k - 1] != '.')
            o[k++] = '.';
    }
    return put(e, o, k);
}

/* The text of the number at idx; a NaN or an infinity is refused with flags at depth. */
static int put_number(encoder *e, int idx, int depth, int is_key, int flags)
{
    lua_State *L = e->L;
    double x;
#if LUA_VERSION_NUM >= 503
    if (lua_isinteger(L, idx))
        return put_int(e, (int64_t)lua_tointeger(L, idx));
#endif
    x = lua_tonumber(L, idx);
    if (isnan(x) || isinf(x))
        return fault(e, is_key ? E_NAN_KEY : E_NAN, depth, flags);
#if LUA_VERSION_NUM >= 503
    if (x == floor(x) && x >= -9223372036854775808.0 && x < 9223372036854775808.0)
#else
    if (x == floor(x) && x > -9007199254740992.0 && x < 9007199254740992.0)
#endif
    {
        if (x == 0 && signbit(x))
            return PUT_LITERAL(e, "-0");
        return put_int(e, (int64_t)x);
    }
    return put_float(e, x);
}

/* Whether the key at idx is an array index below limit (a positive integer); *k is its value. */
static int index_key(lua_State *L, int idx, double limit, lua_Integer *k)
{
    double x;
    if (lua_type(L, idx) != LUA_TNUMBER)
        return 0;
#if LUA_VERSION_NUM >= 503
    if (lua_isinteger(L, idx)) {
        lua_Integer i = lua_tointeger(L, idx);
        if (i < 1 || (double)i >= limit)
            return 0;
        *k = i;
        return 1;
    }
#endif
    x = lua_tonumber(L, idx);
    if (!(x >= 1 && x < limit && x == floor(x)))
        return 0;
    *k = x < 9.2e18 ? (lua_Integer)x : (lua_Integer)9.2e18;
    return 1;
}

/* A key of a marked table that is no index: the message names it as tostring would. */
static int not_index(encoder *e, int idx, int depth)
{
    lua_State *L = e->L;
    int t = lua_type(L, idx);
    const char *what;
    if (t == LUA_TSTRING || t == LUA_TNUMBER) {
        lua_pushvalue(L, idx);
        what = lua_tostring(L, -1);
    } else if (t == LUA_TBOOLEAN) {
        what = lua_toboolean(L, idx) ? "true" : "false";
        lua_pushnil(L);
    } else {
        what = lua_pushfstring(L, "%s: %p", lua_typename(L, t), lua_topointer(L, idx));
    }
    snprintf(e->msg, sizeof e->msg, "json.array table has a key that is not a positive integer (%.100s)", what);
    lua_pop(L, 1);
    return fault(e, e->msg, depth, HAS_PATH);
}

/* A value or key of a type JSON has not. */
static int bad_type(encoder *e, const char *what, int type, int depth, int flags)
{
    snprintf(e->msg, sizeof e->msg, what, lua_typename(e->L, type));
    return fault(e, e->msg, depth, flags);
}

static int put_value(encoder *e, int idx, int depth);

/* The table at idx, at depth (1: the top-level value). */
static int put_table(encoder *e, int idx, int depth)
{
    lua_State *L = e->L;
    const void *self = lua_topointer(L, idx);
    int marked = 0, all_index = 1, i;
    lua_Integer n = 0, max = 0, k;
    if (depth > JSON_MAX_DEPTH) {
        for (i = 1; i < depth; i++)
            if (e->tables[i] == self)
                return fault(e, E_CYCLE, 0, 0);
        return fault(e, E_DEPTH, 0, 0);
    }
    if (!lua_checkstack(L, 4))
        return fault(e, E_MEMORY, 0, 0);
    e->tables[depth] = self;
    if (lua_getmetatable(L, idx)) {
        marked = lua_rawequal(L, -1, e->array_idx);
        lua_pop(L, 1);
    }
    /* the keys first: an array or an object */
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        n++;
        if (index_key(L, -1, marked ? HUGE_VAL : INDEX_MAX, &k)) {
            if (k > max)
                max = k;
            continue;
        }
        all_index = 0;
        if (marked)
            return not_index(e, lua_gettop(L), depth - 1);
        if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
            return bad_type(e, "cannot encode a table key of type %s", lua_type(L, -1), depth - 1, HAS_PATH);
    }
    if (n == 0)
        return marked ? PUT_LITERAL(e, "[]") : PUT_LITERAL(e, "{}");
    if (all_index) {
        if (max > 10 && max > 2 * n)
            return fault(e, E_SPARSE, depth - 1, HAS_PATH);
        if (PUT_LITERAL(e, "["))
            return -1;
        e->key_is_index[depth] = 1;
        for (k = 1; k <= max; k++) {
            if (k > 1 && PUT_LITERAL(e, ","))
                return -1;
            e->keys[depth] = k;
            lua_rawgeti(L, idx, k);
            if (put_value(e, lua_gettop(L), depth))
                return -1;
            lua_pop(L, 1);
        }
        return PUT_LITERAL(e, "]");
    }
    if (PUT_LITERAL(e, "{"))
        return -1;
    e->key_is_index[depth] = 0;
    lua_pushnil(L);
    for (i = 0; lua_next(L, idx); i++) {
        int key = lua_gettop(L) - 1;
        e->keys[depth] = key;
        if (i > 0 && PUT_LITERAL(e, ","))
            return -1;
        if (lua_type(L, key) == LUA_TSTRING) {
            size_t len;
            const char *s = lua_tolstring(L, key, &len);
            if (put_string(e, s, len))
                return -1;
        } else if (PUT_LITERAL(e, "\"") || put_number(e, key, depth - 1, 1, HAS_PATH) || PUT_LITERAL(e, "\"")) {
            return -1;
        }
        if (PUT_LITERAL(e, ":") || put_value(e, key + 1, depth))
            return -1;
        lua_pop(L, 1);
    }
    return PUT_LITERAL(e, "}");
}

/* The value at idx, inside the table at depth (0: the top level, where a fault has no path). */
static int put_value(encoder *e, int idx, int depth)
{
    lua_State *L = e->L;
    int flags = depth > 0 ? HAS_PATH : 0;
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return PUT_LITERAL(e, "null");
    case LUA_TBOOLEAN:
        return lua_toboolean(L, idx) ? PUT_LITERAL(e, "true") : PUT_LITERAL(e, "false");
    case LUA_TNUMBER:
        return put_number(e, idx, depth, 0, flags);
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        return put_string(e, s, len);
    }
    case LUA_TTABLE:
        if (lua_getmetatable(L, idx)) {
            int is_number = lua_rawequal(L, -1, e->number_idx);
            lua_pop(L, 1);
            if (is_number) { /* json.number: its text, which json.number checked */
                size_t len = 0;
                const char *s = NULL;
                int rc;
                lua_rawgeti(L, idx, 1);
                if (lua_type(L, -1) == LUA_TSTRING)
                    s = lua_tolstring(L, -1, &len);
                rc = s ? put(e, s, len) : fault(e, "cannot encode a json.number without its text", depth, flags);
                lua_pop(L, 1);
                return rc;
            }
        }
        return put_table(e, idx, depth + 1);
    case LUA_TLIGHTUSERDATA:
        if (lua_rawequal(L, idx, e->null_idx))
            return PUT_LITERAL(e, "null");
        return bad_type(e, "cannot encode a %s value", LUA_TLIGHTUSERDATA, depth, flags);
    default:
        return bad_type(e, "cannot encode a %s value", lua_type(L, idx), depth, flags);
    }
}

/* json_encode(value, null, array_mt, number_mt) -> text | nil, message, keys */
static int l_json_encode(lua_State *L)
{
    encoder *e = lua_touserdata(L, lua_upvalueindex(1));
    int rc, d;
    luaL_checkany(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    luaL_checktype(L, 4, LUA_TTABLE);
    lua_settop(L, 4);
    e->L = L;
    e->null_idx = 2;
    e->array_idx = 3;
    e->number_idx = 4;
    e->err = NULL;
    e->len = 0;
    rc = put_value(e, 1, 0);
    if (rc == 0) {
        lua_pushlstring(L, e->data ? e->data : "", e->len);
    } else {
        lua_pushnil(L);
        lua_pushstring(L, e->err);
        if (!(e->err_flags & HAS_PATH)) {
            lua_pushnil(L);
        } else { /* the keys down to the table it is in, still on the stack */
            lua_createtable(L, e->err_depth, 0);
            for (d = 1; d <= e->err_depth; d++) {
                if (e->key_is_index[d])
                    lua_pushinteger(L, e->keys[d]);
                else
                    lua_pushvalue(L, (int)e->keys[d]);
                lua_rawseti(L, -2, d);
            }
        }
    }
    if (e->cap > KEEP_MAX) {
        free(e->data);
        e->data = NULL;
        e->cap = 0;
    }
    e->len = 0;
    e->L = NULL;
    return rc == 0 ? 1 : 3;
}

static int encoder_gc(lua_State *L)
{
    encoder *e = lua_touserdata(L, 1);
    free(e->data);
    e->data = NULL;
    e->cap = e->len = 0;
    return 0;
}

void tcssl_open_json_write(lua_State *L)
{
    tcssl_guard(L, sizeof(encoder), "tcssl.json_encoder", encoder_gc);
    lua_pushcclosure(L, l_json_encode, 1);
    lua_setfield(L, -2, "json_encode");
}
