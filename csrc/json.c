/* tcssl.core.json_decode: JSON text (RFC 8259) straight into the Lua values tcssl.json
 * returns, in one pass over the text and without a second walk over the tables.
 *
 *   json_decode(text, null, array_mt) -> value | nil, message
 *   json_decode(text, null, array_mt, compiled) -> value, checked | nil, message
 *
 * With a plan compiled by tcssl.core.json_plan (csrc/tidy.c) the types it names are tested as
 * the values are read; checked is false, the suspects, or true (docs/core.md, "Checking types
 * against a plan").
 *
 * The shape it builds (tcssl.json documents the decisions):
 *   - objects are tables without metatable; arrays are tables with metatable array_mt;
 *   - a null member is absent, a null element a hole, a top-level null is `null`;
 *   - numbers: under Lua 5.3+ an integer literal in the int64 range is that exact integer, any
 *     other number whose value is integral and in the int64 range is an integer too (10.0, 1e1),
 *     except -0, which stays the float -0.0; all others are floats (beyond int64, fractions,
 *     1e400 as infinity). Under LuaJIT every number is a double, except an integer literal whose
 *     magnitude is above 2^53, which becomes the string of its digits (no double holds it);
 *   - strings are bytes: escapes are decoded (\u surrogate pairs to one UTF-8 sequence, a lone
 *     surrogate is an error), other bytes are copied as they are, UTF-8 or not.
 * Strict: anything but one value surrounded by whitespace, raw control characters (and NUL)
 * in strings, `1.`, `-`, `01`, `+1`, `.5`, hex, NaN are errors; nesting deeper than 1000
 * levels too. The message names the 1-based byte position where the text went wrong.
 *
 * Tables are presized: each is made with the size of the last value of its key (a plan's field
 * keeps it from one reply to the next, and an array field the size of its last object item),
 * else of the last table of its kind at the same depth, which on an API page (a list of alike
 * items) is its own size, so no table is rehashed while it fills. Lua interns short strings
 * itself, so object keys repeated across objects are already shared. A Lua memory error
 * raises, as any allocation in the core does; every other failure is a return value. */
#include <errno.h>
#include <stddef.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "plan.h"
#include "tcssl.h"

#define KEY_SLOTS 256  /* the key cache's slots (a power of two), in pairs */
#define KEY_MAX 64     /* the longest key it holds */
#ifndef KEY_AFTER
#define KEY_AFTER 16 /* objects read before the cache is made: small documents go without */
#endif
#define HINT_MAX 1024 /* the largest size a table is made with before its items are read */
#define TWO53 9007199254740992.0

enum { OK_INT = 1, OK_FLOAT = 2 }; /* what the number just read may stand for as it is */

typedef struct {
    lua_State *L;
    const unsigned char *start, *p, *end;
    int mt_idx, scratch_idx; /* stack indexes */
    unsigned char *scratch;             /* buffer for strings with escapes */
    size_t scratch_size;
    char decimal_point;                 /* the locale's, for strtod */
    const char *err;
    size_t err_pos;
    int cache_idx;                      /* stack index of the key cache, 0 until it is made */
    int cache_slot;                     /* the stack slot kept for it */
    int keys_seen;                      /* keys read before the cache was made */
    int key_slot;  /* the cache slot of the key just read, -1 when it did not come from the cache */
    int key_field; /* the plan's field whose name the key just read is, or -1 */
    int hint_depth; /* the deepest level whose sizes by depth are set */
    /* with a plan (json_decode's fourth argument): */
    tc_plan *plan;
    int plans_idx;    /* stack index of the compiled plan's table */
    int names_idx;    /* stack index of its fields' names (plan.h) */
    int suspects_idx; /* stack index of the suspects list (nil until the first) */
    int nsuspects;
    int again;        /* a field a plan names came twice in one object: the walk must be redone */
    int key_pending;  /* plan_key found a field whose name parse_object is still to push */
    int num_ok;       /* OK_INT and OK_FLOAT for the number just read */
    /* Below: not zeroed when the reader starts (a small reply would pay for all of it). */
    struct {
        const unsigned char *at;
        size_t len;
        int hint; /* the size of the last array or object that was this key's value */
    } keys[KEY_SLOTS];                   /* zeroed when the cache is made */
    unsigned char recent[KEY_SLOTS / 2]; /* which slot of each pair was used last; likewise */
    int hint_arr[JSON_MAX_DEPTH + 2], hint_obj[JSON_MAX_DEPTH + 2]; /* sizes by depth, to hint_depth */
    /* for a value at depth n read under a plan: the stack index of its container and of its
     * key, or minus its index in an array (written before they are read) */
    int path_tab[JSON_MAX_DEPTH + 2], path_key[JSON_MAX_DEPTH + 2];
} decoder;

/* The bytes at p that are not PLAIN, as a mask of 8 high bits, one per byte (a byte below 0x20,
 * or one equal to '"' or '\\'). A bit above the lowest set one may be wrong (the borrow of a
 * subtraction runs on), the lowest is exact: its byte, found with a count of trailing zeros on
 * a little-endian word, is the first special one. */
static uint64_t special8(const unsigned char *p)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t x, q, b;
    memcpy(&x, p, 8);
    q = x ^ (ones * '"');
    b = x ^ (ones * '\\');
    return (((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs;
}

/* The offset of the first special byte of the 8 at p, given their nonzero special8 mask. */
static unsigned first_special(const unsigned char *p, uint64_t m)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    (void)p;
    return (unsigned)__builtin_ctzll(m) >> 3;
#else
    unsigned i = 0;
    (void)m; /* the exact lowest bit is the last byte in memory on other byte orders */
    while (i < 7 && PLAIN(p[i]))
        i++;
    return i;
#endif
}

static int fail(decoder *d, const char *msg, const unsigned char *at)
{
    if (!d->err) {
        d->err = msg;
        d->err_pos = (size_t)(at - d->start) + 1;
    }
    return -1;
}

static void skip_ws(decoder *d)
{
    const unsigned char *p = d->p, *e = d->end;
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    d->p = p;
}

static int hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    int i;
    for (i = 0; i < 4; i++) {
        unsigned c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    *out = v;
    return 0;
}

static unsigned char *put_utf8(unsigned char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *o++ = (unsigned char)(0xC0 | (cp >> 6));
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (unsigned char)(0xE0 | (cp >> 12));
        *o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (unsigned char)(0xF0 | (cp >> 18));
        *o++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* Whether cache slot i holds the key of n bytes at s. */
static int holds(const decoder *d, unsigned i, const unsigned char *s, size_t n)
{
    return d->keys[i].len == n && tc_same(d->keys[i].at, s, n);
}

/* Pushes the key of n bytes at s through the cache: a pair of slots by length and three bytes,
 * whose Lua strings are in the cache table (the same bytes make the same string, so a hit
 * spares Lua hashing the key and looking it up among its strings). A new key takes an empty
 * slot of its pair, else the one used less recently: two keys of one pair, which a page's
 * items would otherwise make evict each other item by item, both stay. */
static void push_key(decoder *d, const unsigned char *s, size_t n)
{
    unsigned pair = tc_name_hash(s, n) & (KEY_SLOTS - 2), slot;
    if (holds(d, slot = pair, s, n) || holds(d, slot = pair + 1, s, n)) {
        d->recent[pair / 2] = (unsigned char)(slot & 1);
        lua_rawgeti(d->L, d->cache_idx, (int)slot + 1);
        d->key_slot = (int)slot;
        return;
    }
    slot = !d->keys[pair].len ? pair : !d->keys[pair + 1].len ? pair + 1 : pair + (d->recent[pair / 2] ^ 1u);
    d->recent[pair / 2] = (unsigned char)(slot & 1);
    lua_pushlstring(d->L, (const char *)s, n);
    lua_pushvalue(d->L, -1);
    lua_rawseti(d->L, d->cache_idx, (int)slot + 1);
    d->keys[slot].at = s;
    d->keys[slot].len = n;
    d->keys[slot].hint = -1;
    d->key_slot = (int)slot;
}

/* The first byte from p on that is not PLAIN, or e. */
static inline const unsigned char *plain_run(const unsigned char *p, const unsigned char *e)
{
    while (e - p >= 8) {
        uint64_t m = special8(p);
        if (m)
            return p + first_special(p, m);
        p += 8;
    }
    while (p < e && PLAIN(*p))
        p++;
    return p;
}

/* The string literal at d->p (its opening quote) is pushed. A key (is_key) without escapes
 * comes from the key cache when the same bytes were a key before. */
static int parse_string(decoder *d, int is_key)
{
    const unsigned char *s = d->p + 1, *p = s, *e = d->end;
    unsigned char *o;
    /* the common case: no escape, pushed straight from the text */
    for (;;) {
        p = plain_run(p, e);
        if (p >= e)
            return fail(d, "unterminated string", d->p);
        if (*p == '"') {
            size_t n = (size_t)(p - s);
            d->p = p + 1;
            if (is_key && n > 0 && n <= KEY_MAX && d->cache_idx)
                push_key(d, s, n);
            else
                lua_pushlstring(d->L, (const char *)s, n);
            return 0;
        }
        if (*p == '\\')
            break;
        if (*p < 0x20)
            return fail(d, "control character in a string", p);
        p++;
    }
    /* escapes: the decoded string is never longer than the literal, whose end is found first */
    o = (unsigned char *)p;
    while (o < e && *o != '"')
        o += *o == '\\' && o + 1 < e ? 2 : 1;
    if (d->scratch_size < (size_t)(o - s)) {
        size_t size = (size_t)(o - s);
        if (size < 2 * d->scratch_size)
            size = 2 * d->scratch_size;
        d->scratch = lua_newuserdata(d->L, size);
        d->scratch_size = size;
        lua_replace(d->L, d->scratch_idx);
    }
    memcpy(d->scratch, s, (size_t)(p - s));
    o = d->scratch + (p - s);
    for (;;) {
        unsigned char c;
        if (p >= e)
            return fail(d, "unterminated string", d->p);
        c = *p;
        if (c == '"')
            break;
        if (c < 0x20)
            return fail(d, "control character in a string", p);
        if (c != '\\') {
            *o++ = c;
            p++;
            continue;
        }
        if (p + 1 >= e)
            return fail(d, "unterminated string", d->p);
        switch (p[1]) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (e - p < 6 || hex4(p + 2, &cp))
                return fail(d, "invalid \\u escape", p);
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (e - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, &lo) || lo < 0xDC00 ||
                    lo > 0xDFFF)
                    return fail(d, "lone UTF-16 surrogate in a \\u escape", p);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return fail(d, "lone UTF-16 surrogate in a \\u escape", p);
            }
            o = put_utf8(o, cp);
            p += 4; /* and the 2 below */
            break;
        }
        default:
            return fail(d, "invalid escape in a string", p);
        }
        p += 2;
    }
    lua_pushlstring(d->L, (const char *)d->scratch, (size_t)(o - d->scratch));
    d->p = p + 1;
    return 0;
}

/* strtod on a number literal, whatever the locale's decimal point. */
static double to_double(decoder *d, const unsigned char *s, size_t n)
{
    char buf[64], *heap = NULL, *b = buf, *endp;
    double v;
    size_t i;
    if (n >= sizeof buf) {
        heap = malloc(n + 1);
        if (!heap)
            luaL_error(d->L, "tcssl.core.json_decode: not enough memory");
        b = heap;
    }
    memcpy(b, s, n);
    b[n] = '\0';
    if (d->decimal_point != '.')
        for (i = 0; i < n; i++)
            if (b[i] == '.')
                b[i] = d->decimal_point;
    v = strtod(b, &endp);
    free(heap);
    return v;
}

static int parse_number(decoder *d)
{
    const unsigned char *s = d->p, *p = s, *e = d->end;
    int neg = 0, is_int = 1;
    uint64_t u = 0;
    int overflow = 0;
    double v;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (p >= e || *p < '0' || *p > '9')
        return fail(d, "invalid number", s);
    if (*p == '0') {
        p++;
        if (p < e && *p >= '0' && *p <= '9')
            return fail(d, "leading zero in a number", s);
    } else {
        while (p < e && *p >= '0' && *p <= '9') {
            unsigned dig = (unsigned)(*p - '0');
            if (u > (UINT64_MAX - dig) / 10)
                overflow = 1;
            else
                u = u * 10 + dig;
            p++;
        }
    }
    if (p < e && *p == '.') {
        is_int = 0;
        p++;
        if (p >= e || *p < '0' || *p > '9')
            return fail(d, "invalid number: no digit after '.'", s);
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        is_int = 0;
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || *p < '0' || *p > '9')
            return fail(d, "invalid number: no digit in the exponent", s);
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    d->p = p;
    if (is_int && !overflow) {
#if LUA_VERSION_NUM >= 503
        d->num_ok = OK_INT;
        if (!neg && u <= (uint64_t)INT64_MAX) {
            lua_pushinteger(d->L, (lua_Integer)u);
            return 0;
        }
        if (neg && u != 0 && u <= (uint64_t)INT64_MAX + 1) {
            lua_pushinteger(d->L, (lua_Integer)(0 - u));
            return 0;
        }
        if (neg && u == 0) {
            d->num_ok = OK_FLOAT;
            lua_pushnumber(d->L, -0.0);
            return 0;
        }
#else
        if (u <= (uint64_t)TWO53) {
            d->num_ok = OK_INT | OK_FLOAT;
            lua_pushnumber(d->L, neg ? -(double)u : (double)u);
            return 0;
        }
        d->num_ok = 0;
        lua_pushlstring(d->L, (const char *)s, (size_t)(p - s));
        return 0;
#endif
    }
#if LUA_VERSION_NUM < 503
    if (is_int) { /* beyond 64 bits: keep the digits */
        d->num_ok = 0;
        lua_pushlstring(d->L, (const char *)s, (size_t)(p - s));
        return 0;
    }
#endif
    v = to_double(d, s, (size_t)(p - s));
    d->num_ok = isfinite(v) ? OK_FLOAT : 0;
#if LUA_VERSION_NUM >= 503
    /* an integer literal beyond int64 stays a float, even where it rounds into the range */
    if (!is_int && v == floor(v) && v >= -9223372036854775808.0 && v < 9223372036854775808.0 &&
        (v != 0 || !signbit(v))) {
        d->num_ok = OK_INT;
        lua_pushinteger(d->L, (lua_Integer)v);
        return 0;
    }
#else
    if (v == floor(v) && v >= -9223372036854775808.0 && v < 9223372036854775808.0)
        d->num_ok |= OK_INT; /* as tcssl.core.conform tests an Integer under LuaJIT */
#endif
    lua_pushnumber(d->L, v);
    return 0;
}

/* The size to make the array or object about to be read with: what the last value of the same
 * key had (the items of a page are alike), else the last one at the same depth. *slot is set to
 * the key's cache slot and *at to its text, for remember(). */
/* Makes the sizes by depth valid down to `depth`, the levels below the deepest so far at 0. */
static void enter_levels(decoder *d, int depth)
{
    while (d->hint_depth < depth) {
        d->hint_depth++;
        d->hint_arr[d->hint_depth] = d->hint_obj[d->hint_depth] = 0;
    }
}

static int size_hint(decoder *d, const int *by_depth, int depth, int *slot, const unsigned char **at)
{
    int k = d->key_slot, f = d->key_field;
    d->key_slot = d->key_field = -1;
    enter_levels(d, depth);
    if (f >= 0) { /* a plan's field: its hint is its own, and stays from one reply to the next */
        *slot = -2 - f;
        *at = NULL;
        return d->plan->fields[f].hint >= 0 ? d->plan->fields[f].hint : by_depth[depth];
    }
    *slot = k;
    *at = k >= 0 ? d->keys[k].at : NULL;
    if (k >= 0 && d->keys[k].hint >= 0)
        return d->keys[k].hint;
    return by_depth[depth];
}

/* Remembers a container's size n for the key it was the value of: slot from size_hint (a cache
 * slot, when it still holds that key, or -2 - a plan's field). */
static void keep_hint(decoder *d, int slot, const unsigned char *at, int n)
{
    if (slot <= -2)
        d->plan->fields[-2 - slot].hint = n;
    else if (slot >= 0 && d->keys[slot].at == at)
        d->keys[slot].hint = n;
}

/* keep_hint, and the size for its depth, both at most HINT_MAX. */
static void remember(decoder *d, int *by_depth, int depth, int slot, const unsigned char *at, int n)
{
    if (n > HINT_MAX)
        n = HINT_MAX;
    keep_hint(d, slot, at, n);
    by_depth[depth] = n;
}

static int literal(decoder *d, const char *word, size_t n)
{
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, word, n) != 0)
        return fail(d, "invalid literal", d->p);
    d->p += n;
    return 0;
}

/* After an item of an array or object: 1 when a ',' says another follows (skipped, with the
 * whitespace after it), 0 when `close` ends the container, -1 on anything else. */
static int next_item_ws(decoder *d, unsigned char close, const char *unterminated, const char *expected)
{
    skip_ws(d);
    if (d->p >= d->end)
        return fail(d, unterminated, d->p);
    if (*d->p == ',') {
        d->p++;
        skip_ws(d);
        return 1;
    }
    if (*d->p == close) {
        d->p++;
        return 0;
    }
    return fail(d, expected, d->p);
}

/* The common case of a separator: `c` at d->p with no whitespace after it (every byte of
 * whitespace is below '!'), skipped; 0, and nothing skipped, otherwise. */
static inline int tight_separator(decoder *d, unsigned char c)
{
    if (d->end - d->p > 1 && d->p[0] == c && d->p[1] > ' ') {
        d->p++;
        return 1;
    }
    return 0;
}

/* After an item: 1 when a ',' and the next item follow, 0 at `close`, else -1; a comma with
 * no whitespace after it without a call. */
static inline int next_item(decoder *d, unsigned char close, const char *unterminated, const char *expected)
{
    if (tight_separator(d, ','))
        return 1;
    return next_item_ws(d, close, unterminated, expected);
}

/* Adds the value just read at `depth` to the suspects, as tcssl.core.conform lists them:
 * container, key, code, the struct's Lua plan or false, and the path from the top-level
 * object's member down ("Response.Certificates[3].CertEndTime", indexes from 1). */
static void suspect(decoder *d, int depth, int code, int sub)
{
    lua_State *L = d->L;
    luaL_Buffer b;
    int i, key = d->path_key[depth];
    luaL_checkstack(L, 4, "tcssl.core.json_decode: no room for a suspect");
    if (lua_isnil(L, d->suspects_idx)) {
        lua_newtable(L);
        lua_replace(L, d->suspects_idx);
    }
    lua_pushvalue(L, d->path_tab[depth]);
    lua_rawseti(L, d->suspects_idx, ++d->nsuspects);
    if (key > 0)
        lua_pushvalue(L, key);
    else
        lua_pushinteger(L, -key);
    lua_rawseti(L, d->suspects_idx, ++d->nsuspects);
    lua_pushinteger(L, code);
    lua_rawseti(L, d->suspects_idx, ++d->nsuspects);
    if (sub >= 0)
        lua_rawgeti(L, d->plans_idx, sub + 2);
    else
        lua_pushboolean(L, 0);
    lua_rawseti(L, d->suspects_idx, ++d->nsuspects);
    luaL_buffinit(L, &b);
    for (i = 2; i <= depth; i++) {
        key = d->path_key[i];
        if (key > 0) {
            size_t n;
            const char *k = lua_tolstring(L, key, &n);
            if (i > 2)
                luaL_addchar(&b, '.');
            luaL_addlstring(&b, k, n);
        } else {
            char index[24];
            snprintf(index, sizeof index, "[%d]", -key);
            luaL_addstring(&b, index);
        }
    }
    luaL_pushresult(&b);
    lua_rawseti(L, d->suspects_idx, ++d->nsuspects);
}

static int parse_value(decoder *d, int depth, int code, int sub);

/* Room for an array or object at `depth`: 0, or -1 when it is nested too deeply. */
static int room(decoder *d, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return fail(d, "nested deeper than 1000 levels", d->p);
    if (!lua_checkstack(d->L, 8))
        return fail(d, "no room on the Lua stack", d->p);
    return 0;
}

/* Arrays and objects are made with the size their key's last value had, else the last one at
 * the same depth (the items of a page are alike), and filled as they are read. An array read
 * under a plan has items of `kind` (0: none), objects of plan `sub` when that is STRUCT. */
static int parse_array(decoder *d, int depth, int kind, int sub)
{
    lua_State *L = d->L;
    int t, n = 0, more, slot, null;
    const unsigned char *at;
    int hint = size_hint(d, d->hint_arr, depth, &slot, &at);
    tc_plan_field *field = slot <= -2 ? &d->plan->fields[-2 - slot] : NULL;
    d->p++; /* [ */
    skip_ws(d);
    if (field) {
        /* a plan's array: the objects in it are made with the size of the last one in the last
         * array of this field (in an earlier reply too), not 0 for its first one */
        enter_levels(d, depth + 1);
        if (field->items >= 0)
            d->hint_obj[depth + 1] = field->items;
    }
    lua_createtable(L, hint, 0);
    lua_pushvalue(L, d->mt_idx);
    lua_setmetatable(L, -2);
    if (d->p < d->end && *d->p == ']') {
        d->p++;
        keep_hint(d, slot, at, 0);
        return 0;
    }
    t = lua_gettop(L);
    for (;;) {
        d->key_slot = d->key_field = -1;
        if (kind) {
            d->path_tab[depth + 1] = t;
            d->path_key[depth + 1] = -(n + 1);
        }
        if ((null = parse_value(d, depth + 1, kind, sub)) < 0)
            return -1;
        n++;
        if (null)
            lua_pop(L, 1); /* a null: a hole */
        else
            lua_rawseti(L, t, n);
        more = next_item(d, ']', "unterminated array", "expected ',' or ']'");
        if (more < 0)
            return -1;
        if (!more)
            break;
    }
    remember(d, d->hint_arr, depth, slot, at, n);
    if (field)
        field->items = d->hint_obj[depth + 1];
    return 0;
}

/* Reads the key at d->p (its opening quote) of an object read under plan p and returns the
 * number of p's field it names, or -1; *prev is the field found before it in this object (-1
 * for none yet). A name p has, without escapes, is left for the caller to push from the plan's
 * names (d->key_pending); any other key is pushed as parse_string pushes it. The objects of a
 * page name their fields in one order: the field that followed *prev last time is tried before
 * the hash. */
static int plan_key(decoder *d, int p, int *prev)
{
    const unsigned char *s = d->p + 1, *q;
    tc_plan_field *fields = d->plan->fields;
    int *follows = *prev >= 0 ? &fields[*prev].next : &d->plan->plans[p].lead;
    int f = *follows;
    size_t n;
    /* the guess, when its name has no byte a string would escape, is the text's own bytes up to
     * a quote: no scan of the key needed */
    if (f >= 0 && fields[f].plain && (size_t)(d->end - s) > fields[f].len && s[fields[f].len] == '"' &&
        tc_same((const unsigned char *)fields[f].name, s, fields[f].len)) {
        q = s + fields[f].len;
        goto found;
    }
    q = plain_run(s, d->end);
    if (q < d->end && *q == '"') {
        /* a plain key: the guess, if it was this name, matched above (a name that is not plain
         * is never the bytes of a plain key) */
        f = tc_plan_find(d->plan, p, s, (size_t)(q - s));
        if (f >= 0) {
            *follows = f;
        found:
            *prev = f;
            d->key_pending = 1; /* parse_object pushes the name, unless the value is a null */
            d->p = q + 1;
            d->key_field = f;
            return f;
        }
        return parse_string(d, 1) ? -2 : -1;
    }
    if (parse_string(d, 1)) /* escapes, or an error */
        return -2;
    s = (const unsigned char *)lua_tolstring(d->L, -1, &n);
    return tc_plan_find(d->plan, p, s, n);
}

/* An object; under plan number `plan` (-1: none) each field the plan names is read under its
 * code. A field named twice (a null after a value included) makes d->again: a suspect listed
 * for the first value could name the second. */
static int parse_object(decoder *d, int depth, int plan)
{
    lua_State *L = d->L;
    int t, n = 0, more, slot, null, prev = -1;
    uint64_t seen = 0; /* the plan's fields read, by number modulo 64 */
    const unsigned char *at;
    int hint = size_hint(d, d->hint_obj, depth, &slot, &at);
    d->p++; /* { */
    skip_ws(d);
    lua_createtable(L, 0, hint);
    if (d->p < d->end && *d->p == '}') {
        d->p++;
        return 0;
    }
    t = lua_gettop(L);
    if (!d->cache_idx && ++d->keys_seen > KEY_AFTER) {
        lua_createtable(L, KEY_SLOTS, 0);
        lua_replace(L, d->cache_slot);
        memset(d->keys, 0, sizeof d->keys);
        memset(d->recent, 0, sizeof d->recent);
        d->cache_idx = d->cache_slot;
    }
    for (;;) {
        int code = 0, sub = -1, f = -1;
        uint64_t bit = 0;
        if (d->p >= d->end || *d->p != '"')
            return fail(d, "expected a string key", d->p);
        d->key_slot = d->key_field = -1;
        d->key_pending = 0;
        if (plan >= 0 ? (f = plan_key(d, plan, &prev)) == -2 : parse_string(d, 1))
            return -1;
        if (f >= 0) {
            code = d->plan->fields[f].code;
            sub = d->plan->fields[f].sub;
            bit = (uint64_t)1 << ((unsigned)(f - d->plan->plans[plan].first) & 63u);
            if (seen & bit)
                d->again = 1;
            d->path_tab[depth + 1] = t;
            d->path_key[depth + 1] = t + 1;
        }
        if (!tight_separator(d, ':')) {
            skip_ws(d);
            if (d->p >= d->end || *d->p != ':')
                return fail(d, "expected ':'", d->p);
            d->p++;
            skip_ws(d);
        }
        if (d->key_pending) {
            if (!(seen & bit) && d->end - d->p >= 4 && memcmp(d->p, "null", 4) == 0) {
                /* a null member of a field no earlier member of this object set (nor any field
                 * that shares its bit): nothing to push, nothing to take out */
                d->p += 4;
                d->key_slot = d->key_field = -1;
                goto next;
            }
            lua_rawgeti(L, d->names_idx, f + 1);
        }
        if ((null = parse_value(d, depth + 1, code, sub)) < 0)
            return -1;
        d->key_slot = d->key_field = -1;
        if (!null) {
            lua_rawset(L, t);
            seen |= bit;
            n++;
        } else {
            /* a null: the member is absent, even when an earlier one of the same name was not */
            lua_pushvalue(L, -2);
            lua_rawget(L, t);
            if (lua_isnil(L, -1)) {
                lua_pop(L, 3);
            } else {
                lua_pop(L, 1);
                lua_rawset(L, t);
            }
        }
    next:
        more = next_item(d, '}', "unterminated object", "expected ',' or '}'");
        if (more < 0)
            return -1;
        if (!more)
            break;
    }
    remember(d, d->hint_obj, depth, slot, at, n);
    return 0;
}

/* Pushes the value at d->p (no whitespace before it): 0, or 1 for a null (nil pushed), or -1. */
static int parse_plain(decoder *d, int depth)
{
    if (d->p >= d->end)
        return fail(d, "expected a value", d->p);
    switch (*d->p) {
    case '"':
        return parse_string(d, 0);
    case '{':
        return room(d, depth) ? -1 : parse_object(d, depth, -1);
    case '[':
        return room(d, depth) ? -1 : parse_array(d, depth, 0, -1);
    case 't':
        if (literal(d, "true", 4))
            return -1;
        lua_pushboolean(d->L, 1);
        return 0;
    case 'f':
        if (literal(d, "false", 5))
            return -1;
        lua_pushboolean(d->L, 0);
        return 0;
    case 'n':
        if (literal(d, "null", 4))
            return -1;
        lua_pushnil(d->L);
        return 1;
    default:
        if (*d->p == '-' || (*d->p >= '0' && *d->p <= '9'))
            return parse_number(d);
        if (*d->p == '\0')
            return fail(d, "NUL byte", d->p);
        return fail(d, "expected a value", d->p);
    }
}

/* Pushes the value at d->p as parse_plain does; under a plan's code (0: none) it is read
 * with its struct's plan or its items' kind when it has the shape the code names, and is a
 * suspect when it holds anything else (a null never is one). */
static int parse_value(decoder *d, int depth, int code, int sub)
{
    int c, kind = code & ~K_ARRAY, bad, null;
    if (!code || d->p >= d->end)
        return parse_plain(d, depth);
    c = *d->p;
    if (code & K_ARRAY) {
        if (c == '[')
            return room(d, depth) ? -1 : parse_array(d, depth, kind, sub);
        bad = c != 'n';
    } else if (kind == K_STRUCT) {
        if (c == '{')
            return room(d, depth) ? -1 : parse_object(d, depth, sub);
        bad = c != 'n';
    } else if (kind == K_STRING) {
        if (c == '"')
            return parse_string(d, 0);
        bad = c != 'n';
    } else if (kind == K_BOOLEAN) {
        bad = c != 't' && c != 'f' && c != 'n';
    } else {
        bad = -1; /* a number is known once it is read */
    }
    if ((null = parse_plain(d, depth)) < 0)
        return -1;
    if (bad < 0)
        bad = c == '-' || (c >= '0' && c <= '9') ? !(d->num_ok & (kind == K_INTEGER ? OK_INT : OK_FLOAT))
                                                 : c != 'n';
    if (bad)
        suspect(d, depth, code, sub);
    return null;
}

int tcssl_json_read(lua_State *L, const char *text, size_t len, int null_idx, int mt_idx, int plan_idx)
{
    decoder d;
    const struct lconv *lc = localeconv();
    int base = lua_gettop(L), rc;
    lua_pushnil(L); /* base + 1: the scratch buffer, once a string has escapes */
    lua_pushnil(L); /* base + 2: the key cache, once there are keys enough */
    memset(&d, 0, offsetof(decoder, keys));
    if (plan_idx) {
        lua_pushnil(L); /* base + 3: the suspects, once there is one */
        d.suspects_idx = base + 3;
        d.plans_idx = plan_idx;
        lua_rawgeti(L, plan_idx, 1);
        d.plan = lua_touserdata(L, -1); /* a tc_plan: the caller checked (tcssl_json_plan_arg) */
        tcssl_getuservalue(L, -1);
        lua_replace(L, base + 4); /* base + 4: the names (the plans' table holds the userdata) */
        d.names_idx = base + 4;
    }
    d.key_slot = d.key_field = -1;
    d.L = L;
    d.start = d.p = (const unsigned char *)text;
    d.end = d.start + len;
    d.mt_idx = mt_idx;
    d.scratch_idx = base + 1;
    d.cache_slot = base + 2;
    d.decimal_point = lc && lc->decimal_point && lc->decimal_point[0] ? lc->decimal_point[0] : '.';
    skip_ws(&d);
    if (d.plan && d.p < d.end && *d.p == '{')
        rc = room(&d, 1) ? -1 : parse_object(&d, 1, 0);
    else
        rc = parse_plain(&d, 1);
    if (rc >= 0) {
        skip_ws(&d);
        if (d.p < d.end)
            fail(&d, *d.p ? "text after the value" : "NUL byte after the value", d.p);
    }
    if (d.err) {
        lua_pushfstring(L, "%s at byte %d", d.err, (int)(d.err_pos > 2147483647 ? 2147483647 : d.err_pos));
        lua_replace(L, base + 2);
        lua_pushnil(L);
        lua_replace(L, base + 1);
        lua_settop(L, base + 2);
        return 2;
    }
    if (lua_isnil(L, -1))
        lua_pushvalue(L, null_idx);
    lua_replace(L, base + 1);
    if (!d.plan) {
        lua_settop(L, base + 1);
        return 1;
    }
    if (d.again)
        lua_pushboolean(L, 1);
    else if (lua_isnil(L, base + 3))
        lua_pushboolean(L, 0);
    else
        lua_pushvalue(L, base + 3);
    lua_replace(L, base + 2);
    lua_settop(L, base + 2);
    return 2;
}

int tcssl_json_plan_arg(lua_State *L, int idx)
{
    int ok;
    if (lua_isnoneornil(L, idx))
        return 0;
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_rawgeti(L, idx, 1);
    ok = luaL_testudata(L, -1, PLAN_MT) != NULL;
    lua_pop(L, 1);
    if (!ok)
        return luaL_argerror(L, idx, "a plan made by tcssl.core.json_plan");
    return idx;
}

/* json_decode(text, null, array_mt [, plan]) -> value | value, checked | nil, message */
static int l_json_decode(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    int plan;
    luaL_checkany(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 4);
    plan = tcssl_json_plan_arg(L, 4);
    return tcssl_json_read(L, text, len, 2, 3, plan);
}

void tcssl_open_json(lua_State *L)
{
    lua_pushcfunction(L, l_json_decode);
    lua_setfield(L, -2, "json_decode");
}
