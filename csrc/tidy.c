#include <math.h>

#include "plan.h"
#include "tcssl.h"

#define TIDY_MAX_DEPTH 1000 /* as deep as tcssl.json reads; a table that contains itself stops here */
#define TIDY_MAX_FIELDS 10000 /* fields one plan may name (the model's structs have far fewer) */

/* tcssl.core.conform: the type test of a decoded response against a plan that tcssl.schema
 * builds from the model. It changes nothing; it lists what Lua must look at.
 *
 *   conform(t, plan, array_mt) -> nil | suspects
 *
 * A plan is a table { codes, subs, name_1, ..., name_n }: codes is a string of n bytes, the
 * kind of each named field (1 string, 2 boolean, 3 integer, 4 float, 5 struct, each plus 8 for
 * an array of them); subs maps i to the plan of field i's struct (false when no field is one).
 * Fields the plan does not name are not looked at. A value passes as it is when it is a string,
 * a boolean, an integer (Lua 5.3+; under LuaJIT an integral number of the int64 range), a
 * finite float that is no integer (an integer needs converting), an object (a table without
 * metatable, walked with its struct's plan) or an array (metatable array_mt) whose items pass.
 * Every other value is a suspect and is not walked into. suspects is a flat list of fives:
 * container, key, code, the struct's plan or false, and the path of the value
 * ("Certificates[3].CertEndTime", with Lua's indexes). Deeper than TIDY_MAX_DEPTH levels
 * raises an error, as in tidy.
 *
 * It looks up the plan's names in each object rather than traversing the object with
 * lua_next: a lookup by a name the plan holds costs less than a traversal step followed by a
 * lookup in the plan, and the kinds are read from a string, not from Lua values. */
#define TWO63 9223372036854775808.0

typedef struct {
    int plan; /* stack index of the plan that names the field, or 0 for an array item */
    int pos;  /* the field's number in that plan, or the stack index of the item's key */
} conform_step;

typedef struct {
    int array_mt; /* stack index of the array metatable */
    int suspects; /* stack index of the suspects slot (nil until the first) */
    int n;        /* values in the suspects list */
    conform_step path[TIDY_MAX_DEPTH + 2];
} conform_state;

/* lua_rawget, returning the type of the value it pushed (which Lua 5.3+ does itself). */
#if LUA_VERSION_NUM >= 503
#define tidy_rawget(L, t) lua_rawget((L), (t))
#else
static int tidy_rawget(lua_State *L, int t)
{
    lua_rawget(L, t);
    return lua_type(L, -1);
}
#endif

static int scalar_ok(lua_State *L, int v, int type, int kind)
{
    lua_Number n;
    switch (kind) {
    case K_STRING:
        return type == LUA_TSTRING;
    case K_BOOLEAN:
        return type == LUA_TBOOLEAN;
    case K_INTEGER:
        if (type != LUA_TNUMBER)
            return 0;
#if LUA_VERSION_NUM >= 503
        return lua_isinteger(L, v);
#else
        n = lua_tonumber(L, v);
        return n == floor(n) && n >= -TWO63 && n < TWO63;
#endif
    case K_FLOAT:
        if (type != LUA_TNUMBER)
            return 0;
#if LUA_VERSION_NUM >= 503
        if (lua_isinteger(L, v))
            return 0;
#endif
        n = lua_tonumber(L, v);
        return isfinite(n);
    default:
        return 1; /* a kind this walk does not know is not checked */
    }
}

static void push_key(lua_State *L, const conform_step *step)
{
    if (step->plan)
        lua_rawgeti(L, step->plan, step->pos + 2);
    else
        lua_pushvalue(L, step->pos);
}

/* Appends the value at path level `depth`, held by `container`, to the suspects. */
static void suspect(lua_State *L, conform_state *st, int container, int code, int sub, int depth)
{
    int i;
    luaL_checkstack(L, 4, "tcssl.core.conform: no room for a suspect");
    if (lua_isnil(L, st->suspects)) {
        lua_newtable(L);
        lua_replace(L, st->suspects);
    }
    lua_pushvalue(L, container);
    lua_rawseti(L, st->suspects, ++st->n);
    push_key(L, &st->path[depth]);
    lua_rawseti(L, st->suspects, ++st->n);
    lua_pushinteger(L, code);
    lua_rawseti(L, st->suspects, ++st->n);
    if (sub)
        lua_pushvalue(L, sub);
    else
        lua_pushboolean(L, 0);
    lua_rawseti(L, st->suspects, ++st->n);
    lua_pushliteral(L, "");
    for (i = 1; i <= depth; i++) {
        push_key(L, &st->path[i]);
        if (lua_type(L, -1) == LUA_TSTRING) {
            if (i > 1) {
                lua_pushliteral(L, ".");
                lua_insert(L, -2);
                lua_concat(L, 3);
            } else {
                lua_concat(L, 2);
            }
        } else {
            int index = (int)lua_tointeger(L, -1);
            lua_pop(L, 1);
            lua_pushfstring(L, "[%d]", index);
            lua_concat(L, 2);
        }
    }
    lua_rawseti(L, st->suspects, ++st->n);
}

/* Whether the table at v has the array marker (array) or no metatable at all (object). */
static int has_marker(lua_State *L, const conform_state *st, int v)
{
    int yes;
    if (!lua_getmetatable(L, v))
        return 0;
    yes = lua_rawequal(L, -1, st->array_mt);
    lua_pop(L, 1);
    return yes;
}

static int is_plain(lua_State *L, int v)
{
    if (!lua_getmetatable(L, v))
        return 1;
    lua_pop(L, 1);
    return 0;
}

static void walk_object(lua_State *L, conform_state *st, int t, int plan, int depth);

/* The items of the array at index a, at path level `depth`: scalars of `kind`, or objects of
 * the struct plan at index sub. */
static void walk_items(lua_State *L, conform_state *st, int a, int kind, int sub, int depth)
{
    if (depth > TIDY_MAX_DEPTH)
        luaL_error(L, "tcssl.core.conform: tables nested deeper than %d levels", TIDY_MAX_DEPTH);
    luaL_checkstack(L, 3, "tcssl.core.conform: tables nested too deeply");
    lua_pushnil(L);
    while (lua_next(L, a)) {
        int v = lua_gettop(L), type = lua_type(L, v);
        st->path[depth].plan = 0;
        st->path[depth].pos = v - 1;
        if (kind == K_STRUCT) {
            if (type == LUA_TTABLE && is_plain(L, v))
                walk_object(L, st, v, sub, depth);
            else
                suspect(L, st, a, kind, sub, depth);
        } else if (!scalar_ok(L, v, type, kind)) {
            suspect(L, st, a, kind, 0, depth);
        }
        lua_pop(L, 1);
    }
}

/* The fields that the plan at index plan names, of the object at index t at level `depth`.
 * Each field's value stays on the stack until the object is done (one slot per name, room made
 * once), rather than being popped field by field. */
static void walk_object(lua_State *L, conform_state *st, int t, int plan, int depth)
{
    size_t n, i;
    const char *codes;
    int subs, v;
    if (depth + 1 > TIDY_MAX_DEPTH)
        luaL_error(L, "tcssl.core.conform: tables nested deeper than %d levels", TIDY_MAX_DEPTH);
    luaL_checkstack(L, 6, "tcssl.core.conform: tables nested too deeply");
    lua_rawgeti(L, plan, 1);
    codes = lua_tolstring(L, -1, &n); /* stays on the stack while it is read */
    if (!codes)
        luaL_error(L, "tcssl.core.conform: a plan's first item must be its codes string");
    if (n > TIDY_MAX_FIELDS)
        luaL_error(L, "tcssl.core.conform: a plan names more than %d fields", TIDY_MAX_FIELDS);
    lua_rawgeti(L, plan, 2);
    subs = lua_gettop(L);
    luaL_checkstack(L, (int)n + 6, "tcssl.core.conform: tables nested too deeply");
    for (i = 1, v = subs + 1; i <= n; i++, v++) {
        int code = (unsigned char)codes[i - 1], kind = code & ~K_ARRAY, sub = 0, type;
        lua_rawgeti(L, plan, (int)i + 2);
        type = tidy_rawget(L, t); /* the value takes slot v */
        if (type == LUA_TNIL)
            continue;
        st->path[depth + 1].plan = plan;
        st->path[depth + 1].pos = (int)i;
        if (kind == K_STRUCT && lua_type(L, subs) == LUA_TTABLE) {
            lua_rawgeti(L, subs, (int)i);
            sub = lua_type(L, -1) == LUA_TTABLE ? lua_gettop(L) : 0;
        }
        if (kind == K_STRUCT && !sub) {
            /* a struct without a plan is not checked */
        } else if (code & K_ARRAY) {
            if (type == LUA_TTABLE && has_marker(L, st, v))
                walk_items(L, st, v, kind, sub, depth + 2);
            else
                suspect(L, st, t, code, sub, depth + 1);
        } else if (kind == K_STRUCT) {
            if (type == LUA_TTABLE && is_plain(L, v))
                walk_object(L, st, v, sub, depth + 1);
            else
                suspect(L, st, t, code, sub, depth + 1);
        } else if (!scalar_ok(L, v, type, kind)) {
            suspect(L, st, t, code, 0, depth + 1);
        }
        if (kind == K_STRUCT)
            lua_settop(L, v); /* the struct's plan */
    }
    lua_settop(L, subs - 2);
}

static int l_conform(lua_State *L)
{
    conform_state st;
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 3);
    lua_pushnil(L);
    st.array_mt = 3;
    st.suspects = 4;
    st.n = 0;
    walk_object(L, &st, 1, 2, 0);
    lua_settop(L, 4);
    return lua_isnil(L, 4) ? 0 : 1;
}

/* tcssl.core.json_plan: the same plans made into arrays for json_decode, which then tests the
 * types as it reads (see csrc/json.c).
 *
 *   json_plan(plan) -> compiled
 *
 * compiled is a table: [1] a userdata holding a tc_plan (plan.h), [k + 2] the Lua plan whose
 * number is k (0 for the root, then in the order they are first met), for the suspects' plans.
 * A plan is read as conform reads it; a struct field without a plan, and a kind no walk knows,
 * are not checked. Each plan gets a hash table of its names, twice as large as it has fields. */
#define PLAN_MAX 100000 /* plans one root may reach */

/* Numbers the plan on top (popped) unless the index table already has it; returns its number. */
static int number_plan(lua_State *L, int index, int list, int *nplans)
{
    int k;
    lua_pushvalue(L, -1);
    lua_rawget(L, index);
    if (!lua_isnil(L, -1)) {
        k = (int)lua_tointeger(L, -1);
        lua_pop(L, 2);
        return k;
    }
    lua_pop(L, 1);
    if (*nplans >= PLAN_MAX)
        luaL_error(L, "tcssl.core.json_plan: more than %d plans", PLAN_MAX);
    k = (*nplans)++;
    lua_pushvalue(L, -1);
    lua_rawseti(L, list, k + 2);
    lua_pushinteger(L, k);
    lua_rawset(L, index);
    return k;
}

/* Pushes codes and subs of plan number k (the plan itself below them); returns codes. */
static const char *open_plan(lua_State *L, int list, int k, size_t *n)
{
    const char *codes;
    luaL_checkstack(L, 6, "tcssl.core.json_plan");
    lua_rawgeti(L, list, k + 2);
    if (lua_type(L, -1) != LUA_TTABLE)
        luaL_error(L, "tcssl.core.json_plan: a plan must be a table");
    lua_rawgeti(L, -1, 1);
    codes = lua_tolstring(L, -1, n);
    if (!codes || lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "tcssl.core.json_plan: a plan's first item must be its codes string");
    if (*n > TIDY_MAX_FIELDS)
        luaL_error(L, "tcssl.core.json_plan: a plan names more than %d fields", TIDY_MAX_FIELDS);
    lua_rawgeti(L, -2, 2);
    return codes;
}

/* The number of field i's struct plan (subs on top), numbering it when new, or -1. */
static int field_sub(lua_State *L, int index, int list, int *nplans, int code, size_t i)
{
    int k = -1;
    if ((code & ~K_ARRAY) != K_STRUCT || lua_type(L, -1) != LUA_TTABLE)
        return -1;
    lua_rawgeti(L, -1, (int)i);
    if (lua_type(L, -1) == LUA_TTABLE)
        k = number_plan(L, index, list, nplans);
    else
        lua_pop(L, 1);
    return k;
}

static unsigned table_size(size_t n)
{
    unsigned size = 1;
    while (size < 2 * n)
        size <<= 1;
    return size;
}

static int l_json_plan(lua_State *L)
{
    int nplans = 0, k, nfields = 0, index, list;
    size_t nslots = 0, bytes = 0, n, i, size;
    tc_plan *cp;
    tc_plan_slot *slots;
    char *names;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_newtable(L);
    index = lua_gettop(L);
    lua_newtable(L);
    list = lua_gettop(L);
    lua_pushvalue(L, 1);
    number_plan(L, index, list, &nplans);
    /* first pass: every plan numbered, the sizes counted */
    for (k = 0; k < nplans; k++) {
        const char *codes = open_plan(L, list, k, &n);
        for (i = 1; i <= n; i++) {
            size_t len;
            lua_rawgeti(L, -3, (int)i + 2);
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_error(L, "tcssl.core.json_plan: a plan's names must be strings");
            lua_tolstring(L, -1, &len);
            bytes += len;
            lua_pop(L, 1);
            field_sub(L, index, list, &nplans, (unsigned char)codes[i - 1], i);
        }
        nfields += (int)n;
        nslots += table_size(n);
        lua_pop(L, 3);
    }
    size = sizeof *cp + (size_t)nplans * sizeof(tc_plan_info) + (size_t)nfields * sizeof(tc_plan_field) +
           nslots * sizeof(tc_plan_slot) + bytes;
    cp = lua_newuserdata(L, size);
    memset(cp, 0, size);
    luaL_newmetatable(L, PLAN_MT);
    lua_setmetatable(L, -2);
    cp->plans = (tc_plan_info *)(cp + 1);
    cp->fields = (tc_plan_field *)(cp->plans + nplans);
    slots = (tc_plan_slot *)(cp->fields + nfields);
    names = (char *)(slots + nslots);
    lua_createtable(L, nfields, 0); /* the names, the userdata's user value */
    lua_pushvalue(L, -1);
    tcssl_setuservalue(L, -3);
    lua_insert(L, -2);
    lua_rawseti(L, list, 1);
    /* second pass: the arrays filled */
    nfields = 0;
    for (k = 0; k < nplans; k++) {
        const char *codes = open_plan(L, list, k, &n);
        tc_plan_info *pi = &cp->plans[k];
        pi->first = nfields;
        pi->lead = -1;
        pi->mask = table_size(n) - 1;
        pi->slots = slots;
        slots += pi->mask + 1;
        for (i = 1; i <= n; i++) {
            tc_plan_field *f = &cp->fields[nfields];
            int code = (unsigned char)codes[i - 1], kind = code & ~K_ARRAY;
            const char *name;
            uint32_t hash;
            unsigned h;
            lua_rawgeti(L, -3, (int)i + 2);
            name = lua_tolstring(L, -1, &f->len);
            memcpy(names, name, f->len);
            f->name = names;
            names += f->len;
            f->hint = f->items = f->next = -1;
            f->plain = 1;
            for (size_t b = 0; b < f->len; b++)
                if (!PLAIN((unsigned char)name[b]))
                    f->plain = 0;
            lua_rawseti(L, -5, nfields + 1);
            f->sub = field_sub(L, index, list, &nplans, code, i);
            f->code = kind < K_STRING || kind > K_STRUCT || (kind == K_STRUCT && f->sub < 0) ? 0 : code;
            hash = tc_name_hash((const unsigned char *)f->name, f->len);
            h = hash & pi->mask;
            while (pi->slots[h].field)
                h = (h + 1) & pi->mask;
            pi->slots[h].hash = hash;
            pi->slots[h].field = ++nfields;
        }
        lua_pop(L, 3);
    }
    lua_pop(L, 1); /* the names */
    lua_pushvalue(L, list);
    return 1;
}

void tcssl_open_tidy(lua_State *L)
{
    lua_pushcfunction(L, l_conform);
    lua_setfield(L, -2, "conform");
    lua_pushcfunction(L, l_json_plan);
    lua_setfield(L, -2, "json_plan");
}
