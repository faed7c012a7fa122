/* tcssl.core zip helpers, with libzip:
 *
 *   core.unzip(bytes [, limits]) -> { { name = ..., data = ... }, ... } | nil, message
 *   core.zip(files [, opts])     -> bytes | nil, message
 *
 * unzip reads an archive held in a string (DownloadCertificate's Content, base64-decoded) and
 * returns its files in archive order, directories left out. It trusts nothing the archive
 * says about itself: the entry count and the bytes actually inflated are both bounded
 * (limits.max_entries, default 1000; limits.max_bytes, default 64 MiB, for all files
 * together), so a zip bomb stops at the bound. Encrypted entries are refused.
 *
 * zip writes files = { { name = ..., data = ... }, ... } into a new archive (deflate) and
 * returns its bytes; opts.mtime (Unix time) fixes every entry's time stamp.
 *
 * libzip objects live in a "box" userdata whose __gc releases whatever is still held, so a
 * Lua error in the middle (out of memory while building results) leaks nothing, and every
 * early return just leaves the box to the collector. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <zip.h>

#include "tcssl.h"

#define ZBOX_MT "tcssl.zipbox"
#define DEFAULT_MAX_ENTRIES 1000
#define DEFAULT_MAX_BYTES (64 * 1024 * 1024)
#define HARD_MAX_ENTRIES 65535
#define READ_CHUNK 65536

/* The smallest valid archive: an end-of-central-directory record and nothing else. (libzip
 * writes nothing at all for an archive without entries.) */
static const char EMPTY_ZIP[22] = {'P', 'K', 5, 6};

typedef struct {
    zip_source_t *src; /* a source this code holds a reference to */
    zip_t *za;         /* an open archive */
    zip_file_t *zf;    /* an open entry */
} zbox;

static void zbox_release(zbox *b)
{
    if (b->zf) {
        zip_fclose(b->zf);
        b->zf = NULL;
    }
    if (b->za) {
        zip_discard(b->za);
        b->za = NULL;
    }
    if (b->src) {
        zip_source_free(b->src);
        b->src = NULL;
    }
}

static int zbox_gc(lua_State *L)
{
    zbox_release(luaL_checkudata(L, 1, ZBOX_MT));
    return 0;
}

static zbox *new_zbox(lua_State *L)
{
    return tcssl_guard(L, sizeof(zbox), ZBOX_MT, zbox_gc);
}

/* nil, "<what>: <detail>"; releases the box now rather than at the next collection. */
static int zfail(lua_State *L, zbox *b, const char *what, const char *detail)
{
    lua_pushnil(L);
    if (detail)
        lua_pushfstring(L, "%s: %s", what, detail);
    else
        lua_pushstring(L, what);
    zbox_release(b);
    return 2;
}

static int zfail_error(lua_State *L, zbox *b, const char *what, zip_error_t *ze)
{
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", what, zip_error_strerror(ze));
    zip_error_fini(ze);
    zbox_release(b);
    return 2;
}

/* The message of the archive's last error, pushed before the archive goes away. */
static int zfail_archive(lua_State *L, zbox *b, const char *what)
{
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", what, b->za ? zip_strerror(b->za) : "unknown error");
    zbox_release(b);
    return 2;
}

/* A limit from the table at idx: a number from 1 to hard_max (fractions are cut), checked as
 * a float before it becomes an integer (NaN, infinities and huge values do not fit one). */
static lua_Integer opt_limit(lua_State *L, int idx, const char *field, lua_Integer def,
                             lua_Integer hard_max)
{
    lua_Integer v = def;
    if (lua_istable(L, idx)) {
        int t = tcssl_getfield(L, idx, field);
        if (t != LUA_TNIL) {
            lua_Number n = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : -1;
            if (!(n >= 1 && n <= (lua_Number)hard_max)) {
                char why[80];
                snprintf(why, sizeof why, "%s must be a number from 1 to %lld", field, (long long)hard_max);
                luaL_argerror(L, idx, why);
            }
            v = (lua_Integer)n;
        }
        lua_pop(L, 1);
    }
    return v;
}

#if LUA_VERSION_NUM >= 502
#define prep_chunk(B) luaL_prepbuffsize((B), READ_CHUNK)
#define CHUNK_SIZE READ_CHUNK
#else
#define prep_chunk(B) luaL_prepbuffer(B)
#define CHUNK_SIZE LUAL_BUFFERSIZE
#endif

/* unzip(bytes [, { max_entries =, max_bytes = }]) */
static int l_unzip(lua_State *L)
{
    size_t len;
    const char *data = luaL_checklstring(L, 1, &len);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer max_entries = opt_limit(L, 2, "max_entries", DEFAULT_MAX_ENTRIES, HARD_MAX_ENTRIES);
    lua_Integer max_bytes = opt_limit(L, 2, "max_bytes", DEFAULT_MAX_BYTES, (lua_Integer)1 << 40);
    zbox *b = new_zbox(L);
    zip_error_t ze;

    if (len == 0) /* libzip would take it for a new, empty archive */
        return zfail(L, b, "not a valid zip archive: empty input", NULL);
    zip_error_init(&ze);
    b->src = zip_source_buffer_create(data, len, 0, &ze);
    if (!b->src)
        return zfail_error(L, b, "cannot read the archive", &ze);
    b->za = zip_open_from_source(b->src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (!b->za)
        return zfail_error(L, b, "not a valid zip archive", &ze); /* the source is still ours */
    b->src = NULL; /* the archive owns it now */
    zip_error_fini(&ze);

    zip_int64_t n = zip_get_num_entries(b->za, 0);
    if (n < 0)
        return zfail_archive(L, b, "cannot list the archive");
    if (n > max_entries)
        return zfail(L, b, "the archive has too many entries", NULL);

    lua_createtable(L, (int)n, 0);
    lua_Integer out = 0;
    zip_uint64_t total = 0, cap = (zip_uint64_t)max_bytes;
    for (zip_int64_t i = 0; i < n; i++) {
        zip_stat_t st;
        zip_stat_init(&st);
        if (zip_stat_index(b->za, (zip_uint64_t)i, 0, &st) != 0)
            return zfail_archive(L, b, "cannot read an archive entry");
        if (!(st.valid & ZIP_STAT_NAME) || st.name[0] == '\0')
            return zfail(L, b, "an archive entry has no name", NULL);
        size_t namelen = strlen(st.name);
        if (st.name[namelen - 1] == '/')
            continue; /* a directory */
        if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
            return zfail(L, b, "encrypted archive entries are not supported", st.name);
        if ((st.valid & ZIP_STAT_SIZE) && st.size > cap - total)
            return zfail(L, b, "the archive's contents exceed the size limit", NULL);
        b->zf = zip_fopen_index(b->za, (zip_uint64_t)i, 0);
        if (!b->zf)
            return zfail_archive(L, b, "cannot open an archive entry");

        lua_createtable(L, 0, 2);
        lua_pushlstring(L, st.name, namelen);
        lua_setfield(L, -2, "name");
        luaL_Buffer B;
        luaL_buffinit(L, &B);
        /* bounded: every turn adds at least one byte to total, which stops at cap */
        for (;;) {
            char *p = prep_chunk(&B);
            zip_int64_t got = zip_fread(b->zf, p, CHUNK_SIZE);
            if (got < 0) {
                lua_pushnil(L);
                lua_pushfstring(L, "cannot inflate %s: %s", st.name, zip_file_strerror(b->zf));
                zbox_release(b);
                return 2;
            }
            if (got == 0)
                break;
            if ((zip_uint64_t)got > cap - total)
                return zfail(L, b, "the archive's contents exceed the size limit", NULL);
            total += (zip_uint64_t)got;
            luaL_addsize(&B, (size_t)got);
        }
        luaL_pushresult(&B);
        lua_setfield(L, -2, "data");
        zip_fclose(b->zf);
        b->zf = NULL;
        lua_rawseti(L, -2, (int)++out);
    }
    zbox_release(b);
    return 1;
}

/* A string field of a table, fetched raw (no metamethods) or NULL. */
static const char *raw_string(lua_State *L, int t, const char *field, size_t *len)
{
    lua_pushstring(L, field);
    lua_rawget(L, t);
    if (lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 1);
        return NULL;
    }
    return lua_tolstring(L, -1, len); /* left on the stack: it anchors the string */
}

/* zip(files [, { mtime = }]) */
static int l_zip(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    int have_mtime = 0;
    time_t mtime = 0;
    if (lua_istable(L, 2)) {
        if (tcssl_getfield(L, 2, "mtime") != LUA_TNIL) {
            lua_Number t = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : 0;
            /* also false for NaN, which must not reach the cast */
            if (!(t >= 315532800 && t <= 4102444800.0))
                return luaL_argerror(L, 2, "mtime must be a Unix time from 1980 to 2099");
            mtime = (time_t)t;
            have_mtime = 1;
        }
        lua_pop(L, 1);
    }
    size_t n = tcssl_rawlen(L, 1);
    if (n == 0) {
        lua_pushlstring(L, EMPTY_ZIP, sizeof EMPTY_ZIP);
        return 1;
    }
    if (n > HARD_MAX_ENTRIES) {
        lua_pushnil(L);
        lua_pushstring(L, "too many files for one archive");
        return 2;
    }
    lua_settop(L, 2);
    lua_createtable(L, (int)(2 * n), 0); /* 3: anchors every name and data string until the end */
    zbox *b = new_zbox(L);               /* 4 */
    zip_error_t ze;

    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
    if (!src)
        return zfail_error(L, b, "cannot create an archive", &ze);
    b->src = src;
    b->za = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
    if (!b->za)
        return zfail_error(L, b, "cannot create an archive", &ze);
    zip_error_fini(&ze);
    zip_source_keep(src); /* one reference for the archive, one kept here to read the result */

    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, (int)i);
        if (!lua_istable(L, -1)) {
            char msg[64];
            snprintf(msg, sizeof msg, "files[%zu] must be a table { name =, data = }", i);
            return zfail(L, b, msg, NULL);
        }
        int entry = lua_gettop(L);
        size_t name_len, data_len;
        const char *name = raw_string(L, entry, "name", &name_len);
        const char *data = raw_string(L, entry, "data", &data_len);
        if (!name || !data || name_len == 0 || strlen(name) != name_len) {
            char msg[80];
            snprintf(msg, sizeof msg, "files[%zu] needs a name (no NUL bytes) and data, both strings", i);
            return zfail(L, b, msg, NULL);
        }
        zip_source_t *fs = zip_source_buffer(b->za, data, data_len, 0);
        if (!fs)
            return zfail_archive(L, b, "cannot add a file");
        zip_int64_t idx = zip_file_add(b->za, name, fs, ZIP_FL_ENC_GUESS);
        if (idx < 0) {
            zip_source_free(fs); /* not taken by the archive */
            return zfail_archive(L, b, "cannot add a file");
        }
        if (have_mtime && zip_file_set_mtime(b->za, (zip_uint64_t)idx, mtime, 0) != 0)
            return zfail_archive(L, b, "cannot set a file's time");
        lua_rawseti(L, 3, (int)(2 * i));     /* data */
        lua_rawseti(L, 3, (int)(2 * i - 1)); /* name */
        lua_pop(L, 1);                       /* the entry */
    }

    if (zip_close(b->za) != 0)
        return zfail_archive(L, b, "cannot write the archive"); /* left open: discarded */
    b->za = NULL;

    if (zip_source_open(src) != 0 || zip_source_seek(src, 0, SEEK_END) != 0)
        return zfail(L, b, "cannot read the written archive", zip_error_strerror(zip_source_error(src)));
    zip_int64_t size = zip_source_tell(src);
    if (size <= 0 || zip_source_seek(src, 0, SEEK_SET) != 0)
        return zfail(L, b, "cannot read the written archive", NULL);
    luaL_Buffer B;
    luaL_buffinit(L, &B);
    zip_int64_t have = 0;
    /* bounded: every turn reads at least one byte of a buffer of known size */
    while (have < size) {
        char *p = prep_chunk(&B);
        zip_int64_t want = size - have < CHUNK_SIZE ? size - have : CHUNK_SIZE;
        zip_int64_t got = zip_source_read(src, p, (zip_uint64_t)want);
        if (got <= 0)
            return zfail(L, b, "cannot read the written archive", NULL);
        luaL_addsize(&B, (size_t)got);
        have += got;
    }
    luaL_pushresult(&B);
    zbox_release(b); /* closes and frees the kept source */
    return 1;
}

static const luaL_Reg zip_funcs[] = {{"unzip", l_unzip}, {"zip", l_zip}, {NULL, NULL}};

void tcssl_open_zip(lua_State *L)
{
    luaL_setfuncs(L, zip_funcs, 0);
}
