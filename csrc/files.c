/* tcssl.core file writing:
 *
 *   core.write_file(path, data [, mode]) -> true | nil, message, code
 *
 * Writes data to path so that nobody ever sees a half-written file, an old file's mode or a
 * link someone placed at path: the bytes go into a new file beside path, created with
 * O_CREAT|O_EXCL|O_NOFOLLOW (so it is always a fresh inode of this process, never a link's
 * target), written in full, fsync'ed and closed, then renamed over path in one step. rename()
 * replaces whatever path names (a file, or a symbolic link itself) and never follows it.
 *
 * With mode (e.g. 0600 for a private key) the new file is created readable by its owner only
 * and then given exactly that mode, whatever the umask; without it, 0666 less the umask, as
 * for any new file. On any failure the temporary file is removed and path is left as it was;
 * code names the cause: NotFound, PermissionDenied, IsDirectory, NoSpace, NameTooLong,
 * InvalidPath or WriteFailed.
 *
 * No Lua call that can raise happens while the descriptor is open: every string this needs
 * is built on the Lua stack before open(), so an out-of-memory error cannot leak it. */
#define _POSIX_C_SOURCE 200809L /* O_NOFOLLOW, O_CLOEXEC, O_DIRECTORY, fsync */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "sign.h"
#include "tcssl.h"

#define TEMP_ATTEMPTS 16
#define TEMP_RANDOM 8 /* bytes of randomness in a temporary name */

static const char *code_of(int err)
{
    switch (err) {
    case ENOENT:
    case ENOTDIR:
        return "NotFound";
    case EACCES:
    case EPERM:
    case EROFS:
        return "PermissionDenied";
    case EISDIR:
        return "IsDirectory";
    case ENOSPC:
    case EFBIG:
#ifdef EDQUOT
    case EDQUOT:
#endif
        return "NoSpace";
    case ENAMETOOLONG:
        return "NameTooLong";
    default:
        return "WriteFailed";
    }
}

/* nil, "<what> <path>: <strerror>", code */
static int write_fail(lua_State *L, const char *what, const char *path, int err)
{
    lua_pushnil(L);
    lua_pushfstring(L, "%s %s: %s", what, path, strerror(err));
    lua_pushstring(L, code_of(err));
    return 3;
}

/* Makes a rename in dir durable; a directory that cannot be opened or synced (some file
 * systems refuse fsync on directories) does not undo a write that has already happened. */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        (void)close(fd);
    }
}

static int l_write_file(lua_State *L)
{
    size_t plen, dlen;
    const char *path = luaL_checklstring(L, 1, &plen);
    const char *data = luaL_checklstring(L, 2, &dlen);
    int exact = !lua_isnoneornil(L, 3);
    lua_Integer mode = exact ? luaL_checkinteger(L, 3) : 0666;
    luaL_argcheck(L, mode >= 0 && mode <= 07777, 3, "mode out of range");

    if (plen == 0 || strlen(path) != plen) {
        lua_pushnil(L);
        lua_pushliteral(L, "the path is empty or holds a NUL byte");
        lua_pushliteral(L, "InvalidPath");
        return 3;
    }
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (*base == '\0')
        return write_fail(L, "cannot write", path, EISDIR);

    /* stack: 4 = the directory (for sync_dir), 5 = the temporary path */
    lua_settop(L, 3);
    if (!slash)
        lua_pushliteral(L, ".");
    else if (slash == path)
        lua_pushliteral(L, "/");
    else
        lua_pushlstring(L, path, (size_t)(slash - path));
    const char *dir = lua_tostring(L, 4);

    int fd = -1;
    const char *tmp = NULL;
    for (int attempt = 0; attempt < TEMP_ATTEMPTS && fd < 0; attempt++) {
        unsigned char rnd[TEMP_RANDOM];
        char hex[2 * TEMP_RANDOM + 1];
        if (RAND_bytes(rnd, sizeof rnd) != 1) {
            lua_pushnil(L);
            lua_pushliteral(L, "no random bytes for a temporary file name");
            lua_pushliteral(L, "WriteFailed");
            return 3;
        }
        tc_hex(rnd, sizeof rnd, hex);
        hex[2 * TEMP_RANDOM] = '\0';
        lua_settop(L, 4);
        lua_pushlstring(L, path, (size_t)(base - path)); /* the directory part, with its slash */
        lua_pushfstring(L, ".tcssl-%s.tmp", hex);
        lua_concat(L, 2);
        tmp = lua_tostring(L, 5);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, exact ? 0600 : 0666);
        if (fd < 0 && errno != EEXIST)
            return write_fail(L, "cannot write", path, errno);
    }
    if (fd < 0)
        return write_fail(L, "cannot write", path, EEXIST);

    /* From here until close, nothing may raise. */
    int err = 0;
    size_t off = 0;
    while (off < dlen && !err) {
        ssize_t n = write(fd, data + off, dlen - off);
        if (n > 0)
            off += (size_t)n;
        else if (n < 0 && errno != EINTR)
            err = errno;
        else if (n == 0)
            err = EIO;
    }
    if (!err && exact && fchmod(fd, (mode_t)mode) != 0)
        err = errno;
    if (!err && fsync(fd) != 0)
        err = errno;
    if (close(fd) != 0 && !err)
        err = errno;
    if (!err && rename(tmp, path) != 0)
        err = errno;
    if (err) {
        (void)unlink(tmp);
        return write_fail(L, "cannot write", path, err);
    }
    sync_dir(dir);
    lua_pushboolean(L, 1);
    return 1;
}

void tcssl_open_files(lua_State *L)
{
    lua_pushcfunction(L, l_write_file);
    lua_setfield(L, -2, "write_file");
}
