/* tcssl.core sessions: one libcurl easy handle each, so consecutive requests reuse the
 * connection. session:request knows HTTP only; session:call is one signed API 3.0 request
 * (TC3-HMAC-SHA256, POST JSON or GET) and session:call_v1 one signed with signature v1 (GET or
 * POST form), each with its JSON reply read in one crossing from Lua, by one tail (call_tail). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "headers.h"
#include "sign.h"
#include "tcssl.h"

#define SESSION_MT "tcssl.session"
#define DEFAULT_MAX_RESPONSE (50u * 1024u * 1024u) /* the API's documented maximum */
#define MAX_HEAD (256 * 1024)                        /* all response header lines together */

typedef struct {
    char *data;
    size_t len, cap;
} buffer;

typedef struct {
    CURL *h;
    buffer body, headers;
    buffer lines;              /* the request's header lines, NUL-terminated, end to end */
    struct curl_slist *nodes;  /* the list libcurl reads, kept from request to request */
    size_t nodes_cap;
    size_t max_response;
    int too_large, head_too_large;
    int body_kept;             /* session:call left the last body for session:body */
    long connects, requests;
    char errbuf[CURL_ERROR_SIZE];
} session;

static int buffer_add(buffer *b, const char *p, size_t n)
{
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n) {
            if (cap > ((size_t)-1) / 2)
                return -1;
            cap *= 2;
        }
        char *d = realloc(b->data, cap);
        if (!d)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* Keeps a modest buffer for the next request; gives large ones back. */
static void buffer_reset(buffer *b)
{
    b->len = 0;
    if (b->cap > 1024 * 1024) {
        free(b->data);
        b->data = NULL;
        b->cap = 0;
    }
}

static void buffer_free(buffer *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    session *s = ud;
    size_t len = size * n;
    if (len > s->max_response - s->body.len) {
        s->too_large = 1;
        return 0;
    }
    return buffer_add(&s->body, p, len) == 0 ? len : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    session *s = ud;
    size_t len = size * n;
    /* a new status line (after 100 Continue or a proxy's CONNECT) starts the headers afresh */
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
        s->headers.len = 0;
    if (s->headers.len + len > MAX_HEAD) {
        s->head_too_large = 1; /* absurd header block: abort as a protocol error */
        return 0;
    }
    return buffer_add(&s->headers, p, len) == 0 ? len : 0;
}

static session *check_session(lua_State *L)
{
    return luaL_checkudata(L, 1, SESSION_MT);
}

static const char *opt_string(lua_State *L, int t, const char *k)
{
    int ty = tcssl_getfield(L, t, k);
    const char *v = NULL;
    if (ty == LUA_TSTRING)
        v = lua_tostring(L, -1);
    else if (ty != LUA_TNIL)
        luaL_error(L, "tcssl.core: option '%s' must be a string", k);
    lua_pop(L, 1); /* the options table keeps the string alive; curl copies it anyway */
    return v;
}

static int l_session(lua_State *L)
{
    int t;
    session *s;
    const char *v;
    CURLcode rc = CURLE_OK;

    /* the options are optional: no argument, or nil, is an empty table */
    lua_settop(L, 1);
    if (lua_isnil(L, 1)) {
        lua_newtable(L);
        lua_replace(L, 1);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    t = 1;
    s = lua_newuserdata(L, sizeof *s);
    memset(s, 0, sizeof *s);
    luaL_setmetatable(L, SESSION_MT);
    s->max_response = DEFAULT_MAX_RESPONSE;
    s->h = curl_easy_init();
    if (!s->h)
        return luaL_error(L, "tcssl.core: curl_easy_init failed");

#define SET(opt, val)                                                                            \
    do {                                                                                         \
        if (rc == CURLE_OK)                                                                      \
            rc = curl_easy_setopt(s->h, opt, val);                                               \
    } while (0)

    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, s->errbuf);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, s);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, s);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_ACCEPT_ENCODING, "");
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);

    v = opt_string(L, t, "user_agent");
    SET(CURLOPT_USERAGENT, v ? v : "tcssl/" TCSSL_VERSION);
    if ((v = opt_string(L, t, "proxy")))
        SET(CURLOPT_PROXY, v);
    if ((v = opt_string(L, t, "ca_file")))
        SET(CURLOPT_CAINFO, v);
    if ((v = opt_string(L, t, "ca_path")))
        SET(CURLOPT_CAPATH, v);
    if (tcssl_getfield(L, t, "insecure") == LUA_TBOOLEAN && lua_toboolean(L, -1)) {
        SET(CURLOPT_SSL_VERIFYPEER, 0L);
        SET(CURLOPT_SSL_VERIFYHOST, 0L);
    }
    lua_pop(L, 1);
    int ty = tcssl_getfield(L, t, "max_response_size");
    if (ty == LUA_TNUMBER) {
        lua_Number n = lua_tonumber(L, -1);
        /* written so that NaN fails too: it is checked before the cast, which it would break */
        if (!(n >= 1 && n <= 4294967295.0))
            return luaL_argerror(L, 1, "max_response_size must be a number of bytes from 1 to 4294967295");
        s->max_response = (size_t)n;
    } else if (ty != LUA_TNIL) {
        return luaL_argerror(L, 1, "max_response_size must be a number of bytes from 1 to 4294967295");
    }
    lua_pop(L, 1);
#undef SET
    if (rc != CURLE_OK)
        return luaL_error(L, "tcssl.core: %s", curl_easy_strerror(rc));
    return 1;
}

static void free_session(session *s)
{
    if (s->h) {
        curl_easy_cleanup(s->h);
        s->h = NULL;
    }
    buffer_free(&s->body);
    buffer_free(&s->headers);
    buffer_free(&s->lines);
    free(s->nodes);
    s->nodes = NULL;
    s->nodes_cap = 0;
}

static int l_close(lua_State *L)
{
    free_session(check_session(L));
    return 0;
}

typedef struct {
    CURLcode rc;
    const char *kind, *code;
} error_class;

/* A failure as reported: its class, and tcssl's own message where libcurl's would mislead
 * (libcurl's then follows in parentheses when `detail` is set). */
typedef struct {
    error_class c;
    const char *msg;
    int detail;
} error_report;

/* libcurl failures by tcssl error kind; anything not listed is a network error. */
static const error_class error_classes[] = {
    {CURLE_OPERATION_TIMEDOUT, "timeout", "Timeout"},
    {CURLE_COULDNT_RESOLVE_HOST, "network", "ResolveFailed"},
    {CURLE_COULDNT_RESOLVE_PROXY, "network", "ResolveFailed"},
    {CURLE_COULDNT_CONNECT, "network", "ConnectFailed"},
    {CURLE_SEND_ERROR, "network", "SendFailed"},
    {CURLE_RECV_ERROR, "network", "RecvFailed"},
    {CURLE_GOT_NOTHING, "network", "EmptyReply"},
    {CURLE_PEER_FAILED_VERIFICATION, "tls", "TLSVerifyFailed"},
    {CURLE_SSL_CACERT_BADFILE, "tls", "TLSVerifyFailed"},
    {CURLE_SSL_ISSUER_ERROR, "tls", "TLSVerifyFailed"},
    {CURLE_SSL_PINNEDPUBKEYNOTMATCH, "tls", "TLSVerifyFailed"},
    {CURLE_SSL_INVALIDCERTSTATUS, "tls", "TLSVerifyFailed"},
    {CURLE_SSL_CONNECT_ERROR, "tls", "TLSHandshakeFailed"},
    {CURLE_SSL_CERTPROBLEM, "tls", "TLSHandshakeFailed"},
    {CURLE_SSL_CIPHER, "tls", "TLSHandshakeFailed"},
    {CURLE_SSL_ENGINE_NOTFOUND, "tls", "TLSHandshakeFailed"},
    {CURLE_SSL_ENGINE_SETFAILED, "tls", "TLSHandshakeFailed"},
    {CURLE_SSL_ENGINE_INITFAILED, "tls", "TLSHandshakeFailed"},
    {CURLE_SSL_CRL_BADFILE, "tls", "TLSHandshakeFailed"},
    {CURLE_SSL_SHUTDOWN_FAILED, "tls", "TLSHandshakeFailed"},
    {CURLE_USE_SSL_FAILED, "tls", "TLSHandshakeFailed"},
    {CURLE_PARTIAL_FILE, "protocol", "TruncatedBody"},
    {CURLE_FILESIZE_EXCEEDED, "protocol", "ResponseTooLarge"},
    {CURLE_WEIRD_SERVER_REPLY, "protocol", "MalformedResponse"},
    {CURLE_BAD_CONTENT_ENCODING, "protocol", "MalformedResponse"},
    {CURLE_HTTP2, "protocol", "MalformedResponse"},
    {CURLE_HTTP2_STREAM, "protocol", "MalformedResponse"},
    {CURLE_WRITE_ERROR, "protocol", "MalformedResponse"},
    {CURLE_URL_MALFORMAT, "protocol", "BadURL"},
    {CURLE_UNSUPPORTED_PROTOCOL, "protocol", "BadURL"}, /* before sending: see classify */
};

/* What a failure means once request bytes went out (sent = 1): libcurl's URL and memory
 * codes then describe the response, not the request. */
static error_report classify(const session *s, CURLcode rc, int sent)
{
    static const error_report too_big = {
        {CURLE_OK, "protocol", "ResponseTooLarge"}, "the response body exceeds max_response_size", 0};
    static const error_report big_head = {
        {CURLE_OK, "protocol", "HeaderTooLarge"}, "the response head is larger than 256 KB", 0};
    static const error_report long_line = {
        {CURLE_OK, "protocol", "HeaderTooLarge"},
        "a response header line or the status line is longer than libcurl accepts (100 KB)", 0};
    static const error_report not_http = {
        {CURLE_OK, "protocol", "MalformedResponse"}, "the reply is not an HTTP/1.x or HTTP/2 response", 1};
    if (s->too_large)
        return too_big;
    if (s->head_too_large)
        return big_head;
    if (sent == 1) {
        /* libcurl keeps a header line (the status line too) in a buffer capped at 100 KB
         * and reports a longer one as "out of memory" */
        if (rc == CURLE_OUT_OF_MEMORY)
            return long_line;
        /* HTTP/0.9, bytes that are not HTTP, a status code outside 100..999 */
        if (rc == CURLE_UNSUPPORTED_PROTOCOL)
            return not_http;
    }
    error_report r = {{rc, "network", "NetworkError"}, NULL, 0};
    for (size_t i = 0; i < sizeof error_classes / sizeof error_classes[0]; i++)
        if (error_classes[i].rc == rc)
            r.c = error_classes[i];
    return r;
}

/* sent: 1 when request bytes may have reached the server, 0 when none left, -1 unknown */
static int push_error_sent(lua_State *L, const char *kind, const char *code, const char *msg, int sent)
{
    lua_pushnil(L);
    lua_createtable(L, 0, 4);
    if (sent >= 0) {
        lua_pushboolean(L, sent);
        lua_setfield(L, -2, "sent");
    }
    lua_pushstring(L, kind);
    lua_setfield(L, -2, "kind");
    lua_pushstring(L, code);
    lua_setfield(L, -2, "code");
    lua_pushstring(L, msg);
    lua_setfield(L, -2, "message");
    return 2;
}

static int push_error(lua_State *L, const char *kind, const char *code, const char *msg)
{
    return push_error_sent(L, kind, code, msg, 0);
}

/* Appends the line "Name: value" (NUL-terminated) to the session's header lines; "Name;" for
 * an empty value, curl's way to send one. Returns 0, or -1 out of memory. */
static int add_line(session *s, const char *name, size_t nl, const char *value, size_t vl)
{
    if (buffer_add(&s->lines, name, nl) || buffer_add(&s->lines, vl ? ": " : ";", vl ? 2 : 1) ||
        buffer_add(&s->lines, value, vl) || buffer_add(&s->lines, "", 1))
        return -1;
    return 0;
}

/* Points the session's list nodes at the `count` complete lines of s->lines: 1, or 0 out of
 * memory. */
static int link_lines(session *s, size_t count)
{
    size_t i;
    if (count > s->nodes_cap) {
        struct curl_slist *nodes = realloc(s->nodes, count * sizeof *nodes);
        if (!nodes)
            return 0;
        s->nodes = nodes;
        s->nodes_cap = count;
    }
    for (i = 0; i < count; i++) {
        s->nodes[i].data = i ? s->nodes[i - 1].data + strlen(s->nodes[i - 1].data) + 1 : s->lines.data;
        s->nodes[i].next = i + 1 < count ? &s->nodes[i + 1] : NULL;
    }
    return 1;
}

/* Builds "Name: value" lines from the headers table at index t into the session's list: the
 * lines go end to end into one buffer and the nodes into an array, both kept for the next
 * request, so a request allocates nothing for its headers once the first has run. libcurl only
 * reads the list (CURLOPT_HTTPHEADER), so it need not come from curl_slist_append. Returns the
 * list, or NULL with *why set. Raises nothing. */
static struct curl_slist *build_headers(lua_State *L, session *s, int t, const char **why)
{
    size_t count = 1;
    static const char expect[] = "Expect:"; /* no Expect: 100-continue round trip */

    *why = NULL;
    s->lines.len = 0;
    if (buffer_add(&s->lines, expect, sizeof expect)) {
        *why = "out of memory";
        return NULL;
    }
    if (lua_type(L, t) == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, t)) {
            size_t nl, vl;
            const char *name, *value;
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
                *why = "header names and values must be strings";
            } else {
                name = lua_tolstring(L, -2, &nl);
                value = lua_tolstring(L, -1, &vl);
                if (!tc_is_token(name, nl) || !tc_header_value_safe(value, vl))
                    *why = "header names must be HTTP tokens and values free of CR, LF and NUL";
                else if (add_line(s, name, nl, value, vl))
                    *why = "out of memory";
                else
                    count++;
            }
            lua_pop(L, 1);
            if (*why) {
                lua_pop(L, 1);
                return NULL;
            }
        }
    }
    if (!link_lines(s, count)) {
        *why = "out of memory";
        return NULL;
    }
    return s->nodes;
}

/* Turns the raw header block into a table of lowercase names; repeated headers are joined
 * with ", ". */
static void push_headers(lua_State *L, const buffer *hb)
{
    size_t pos = 0;
    tc_span name, value;
    int lines = 0;
    /* one slot per line: the table never grows while it fills */
    for (const char *p = hb->data, *end = hb->data + hb->len; p && p < end; p++) {
        p = memchr(p, '\n', (size_t)(end - p));
        if (!p)
            break;
        lines++;
    }
    lua_createtable(L, 0, lines);
    char small[128];
    while (tc_header_next(hb->data, hb->len, &pos, &name, &value)) {
        /* the lowercase name: in a stack buffer, pushed once (names are short) */
        if (name.len <= sizeof small) {
            for (size_t k = 0; k < name.len; k++)
                small[k] = tc_lower(name.p[k]);
            lua_pushlstring(L, small, name.len);
        } else {
            luaL_Buffer b;
            luaL_buffinit(L, &b);
            for (size_t k = 0; k < name.len; k++)
                luaL_addchar(&b, tc_lower(name.p[k]));
            luaL_pushresult(&b);
        }
        lua_pushvalue(L, -1);
        lua_rawget(L, -3);
        if (lua_isstring(L, -1)) {
            lua_pushliteral(L, ", ");
            lua_pushlstring(L, value.p, value.len);
            lua_concat(L, 3);
        } else {
            lua_pop(L, 1);
            lua_pushlstring(L, value.p, value.len);
        }
        lua_rawset(L, -3);
    }
}

/* A timeout in seconds (the value at idx) as milliseconds: 0 when nil (no limit), -1 when not
 * a positive number. */
static long ms_value(lua_State *L, int idx)
{
    int ty = lua_type(L, idx);
    lua_Number n = lua_tonumber(L, idx);
    if (ty == LUA_TNIL)
        return 0;
    if (ty != LUA_TNUMBER || !(n > 0))
        return -1;
    if (n > 86400.0 * 365)
        n = 86400.0 * 365;
    long ms = (long)(n * 1000.0);
    return ms > 0 ? ms : 1;
}

static long ms_option(lua_State *L, int t, const char *k)
{
    tcssl_getfield(L, t, k);
    long ms = ms_value(L, -1);
    lua_pop(L, 1);
    return ms;
}

/* Performs one request on the session's handle with the list of header lines given. Returns 0
 * with *status set, or pushes nil, err and returns 2; either way nothing libcurl was given
 * stays on the handle. The response's head and body are left in the session's buffers. */
static int perform(lua_State *L, session *s, const char *method, const char *url, const char *body,
                   size_t body_len, struct curl_slist *headers, long timeout, long connect_timeout,
                   int fresh, long *status)
{
    CURLcode rc = CURLE_OK;
    long connects = 0;

    buffer_reset(&s->body);
    buffer_reset(&s->headers);
    s->body_kept = 0;
    s->too_large = s->head_too_large = 0;
    s->errbuf[0] = '\0';

#define SET(opt, val)                                                                            \
    do {                                                                                         \
        if (rc == CURLE_OK)                                                                      \
            rc = curl_easy_setopt(s->h, opt, val);                                               \
    } while (0)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_TIMEOUT_MS, timeout);
    SET(CURLOPT_CONNECTTIMEOUT_MS, connect_timeout);
    /* options stay on the handle: set every time. A fresh connection is also closed after
     * its request, so that a client keeps one idle connection (for reads), not up to
     * libcurl's cache of five */
    SET(CURLOPT_FRESH_CONNECT, fresh ? 1L : 0L);
    SET(CURLOPT_FORBID_REUSE, fresh ? 1L : 0L);
    if (strcmp(method, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L);
        SET(CURLOPT_CUSTOMREQUEST, (char *)NULL);
    } else {
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        SET(CURLOPT_POSTFIELDS, body ? body : "");
        SET(CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") == 0 ? NULL : method);
    }
#undef SET
    if (rc == CURLE_OK)
        rc = curl_easy_perform(s->h);
    /* nothing below may outlive this call */
    curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, (char *)NULL);
    buffer_reset(&s->lines);
    s->requests++;
    if (curl_easy_getinfo(s->h, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK)
        s->connects += connects;

    if (rc != CURLE_OK || s->too_large) {
        long sent_bytes = 0;
        int sent = -1;
        if (curl_easy_getinfo(s->h, CURLINFO_REQUEST_SIZE, &sent_bytes) == CURLE_OK)
            sent = sent_bytes > 0;
        error_report e = classify(s, rc, sent);
        const char *curl_msg = s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc);
        const char *msg = e.msg ? e.msg : curl_msg;
        if (e.msg && e.detail)
            msg = lua_pushfstring(L, "%s (%s)", e.msg, curl_msg); /* left on the stack */
        buffer_reset(&s->body);
        buffer_reset(&s->headers);
        return push_error_sent(L, e.c.kind, e.c.code, msg, sent);
    }
    *status = 0;
    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, status);
    return 0;
}

static int l_request(lua_State *L)
{
    session *s = check_session(L);
    const char *method, *url, *body = NULL, *why;
    size_t body_len = 0;
    struct curl_slist *headers;
    long status = 0;

    luaL_checktype(L, 2, LUA_TTABLE);
    if (!s->h)
        return push_error(L, "protocol", "SessionClosed", "the session is closed");
    if (tcssl_getfield(L, 2, "method") != LUA_TSTRING || tcssl_getfield(L, 2, "url") != LUA_TSTRING)
        return push_error(L, "protocol", "BadRequest", "method and url must be strings");
    method = lua_tostring(L, -2);
    url = lua_tostring(L, -1);
    if (!tc_is_token(method, strlen(method)))
        return push_error(L, "protocol", "BadRequest", "method must be an HTTP token such as GET");
    if (tcssl_getfield(L, 2, "body") == LUA_TSTRING)
        body = lua_tolstring(L, -1, &body_len);
    else if (!lua_isnil(L, -1))
        return push_error(L, "protocol", "BadRequest", "body must be a string");
    /* fresh: a new connection for this request, so that libcurl never sends it twice (it
     * resends a request on a new connection when a reused one dies before any response
     * byte: right for reads, wrong for a change the server may have done) */
    int fresh = tcssl_getfield(L, 2, "fresh") == LUA_TBOOLEAN && lua_toboolean(L, -1);
    lua_pop(L, 1);
    long timeout = ms_option(L, 2, "timeout");
    long connect_timeout = ms_option(L, 2, "connect_timeout");
    if (timeout < 0 || connect_timeout < 0)
        return push_error(L, "protocol", "BadRequest", "timeouts must be positive numbers of seconds");
    tcssl_getfield(L, 2, "headers"); /* the stack keeps method, url, body and headers alive */
    headers = build_headers(L, s, lua_gettop(L), &why);
    if (!headers)
        return push_error(L, "protocol", "BadHeader", why);
    if (perform(L, s, method, url, body, body_len, headers, timeout, connect_timeout, fresh, &status))
        return 2;
    lua_pushinteger(L, (lua_Integer)status);
    push_headers(L, &s->headers);
    lua_pushlstring(L, s->body.data ? s->body.data : "", s->body.len);
    buffer_reset(&s->body);
    buffer_reset(&s->headers);
    return 3;
}

/* Pushes the value of the response header `name` (lowercase), repeated ones joined with ", "
 * as push_headers does, or nil when the head has none. */
static void push_header(lua_State *L, const buffer *hb, const char *name, size_t nl)
{
    size_t pos = 0;
    tc_span n, v;
    int found = 0;
    while (tc_header_next(hb->data, hb->len, &pos, &n, &v)) {
        size_t k = 0;
        if (n.len != nl)
            continue;
        while (k < nl && tc_lower(n.p[k]) == name[k])
            k++;
        if (k < nl)
            continue;
        if (found) {
            lua_pushliteral(L, ", ");
            lua_pushlstring(L, v.p, v.len);
            lua_concat(L, 3);
        } else {
            lua_pushlstring(L, v.p, v.len);
        }
        found = 1;
    }
    if (!found)
        lua_pushnil(L);
}

/* The checks both call entries end their arguments with: the header values (ok is 0 when one
 * was refused), the timeouts at t_idx and t_idx + 1 and fresh at t_idx + 2. 0, or the number
 * of values pushed for the error. */
static int call_options(lua_State *L, int ok, int t_idx, long *timeout, long *connect_timeout, int *fresh)
{
    if (!ok)
        return push_error(L, "protocol", "BadHeader",
                          "header names must be HTTP tokens and values free of CR, LF and NUL");
    *timeout = ms_value(L, t_idx);
    *connect_timeout = ms_value(L, t_idx + 1);
    if (*timeout < 0 || *connect_timeout < 0)
        return push_error(L, "protocol", "BadRequest", "timeouts must be positive numbers of seconds");
    *fresh = lua_toboolean(L, t_idx + 2);
    return 0;
}

/* An optional header value among call's arguments: NULL for nil, else a string that is safe in
 * a header line (*ok cleared otherwise). */
static const char *opt_value(lua_State *L, int idx, size_t *len, int *ok)
{
    if (lua_isnil(L, idx)) {
        *len = 0;
        return NULL;
    }
    if (lua_type(L, idx) != LUA_TSTRING) {
        *ok = 0;
        return NULL;
    }
    const char *v = lua_tolstring(L, idx, len);
    if (!tc_header_value_safe(v, *len))
        *ok = 0;
    return v;
}

/* An out-of-memory failure while the header lines were written. */
static int call_failed(lua_State *L, session *s)
{
    buffer_reset(&s->lines);
    return push_error(L, "protocol", "BadHeader", "out of memory");
}

/* What session:call and session:call_v1 share once a request is signed and its `count` header
 * lines are in s->lines: the list linked, the request performed, and the reply returned as
 * status, content_type, date, value (a 200 reply read by tcssl_json_read with the null and
 * array_mt at those stack indexes, its body kept for session:body) or status, content_type,
 * date, nil, body; nil, err when it failed. */
static int call_tail(lua_State *L, session *s, const char *method, const char *url, const char *body,
                     size_t body_len, size_t count, long timeout, long connect_timeout, int fresh,
                     int null_idx, int mt_idx, int plan_idx)
{
    int n;
    long status = 0;
    if (!link_lines(s, count))
        return call_failed(L, s);
    if (perform(L, s, method, url, body, body_len, s->nodes, timeout, connect_timeout, fresh, &status))
        return 2;
    lua_pushinteger(L, (lua_Integer)status);
    push_header(L, &s->headers, "content-type", 12);
    push_header(L, &s->headers, "date", 4);
    if (status == 200 &&
        (n = tcssl_json_read(L, s->body.data ? s->body.data : "", s->body.len, null_idx, mt_idx, plan_idx),
         !lua_isnil(L, -n))) {
        s->body_kept = 1; /* for session:body(), until the next request */
        buffer_reset(&s->headers);
        return 3 + n;
    }
    if (status == 200)
        lua_pop(L, 2); /* the reader's nil and message: the caller reads the body again */
    lua_pushnil(L);
    lua_pushlstring(L, s->body.data ? s->body.data : "", s->body.len);
    buffer_reset(&s->body);
    buffer_reset(&s->headers);
    return 5;
}

enum {
    C_URL = 2, C_HOST, C_SERVICE, C_ACTION, C_VERSION, C_REGION, C_TIMESTAMP, C_TOKEN, C_LANGUAGE,
    C_CLIENT, C_ID, C_KEY, C_PAYLOAD, C_TIMEOUT, C_CONNECT_TIMEOUT, C_FRESH, C_METHOD, C_NULL, C_ARRAY_MT, C_PLAN, C_TOP
};

/* session:call(url, host, service, action, version, region, timestamp, token, language,
 * request_client, secret_id, secret_key, payload, timeout, connect_timeout, fresh, method, null,
 * array_mt)
 *   -> status, content_type, date, value | status, content_type, date, nil, body | nil, err
 * One API 3.0 request: POST `payload` (JSON) to url with the X-TC-* headers, signed with
 * TC3-HMAC-SHA256 (signed headers content-type;host), exactly as tcssl.request builds it; or, when
 * method is "GET", `payload` is the encoded query: signed as the canonical query, sent on the URL
 * (url?payload, url alone when empty) with Content-Type application/x-www-form-urlencoded; the
 * reply's body read by tcssl_json_read when the status is 200 (value: json_decode's result with
 * null and array_mt), else, or when it is not JSON, returned as it came. Optional arguments
 * (version, region, token, language, request_client, the timeouts) may be nil. The body of a decoded reply
 * stays in the session until its next request, for session:body(). Header values are checked as
 * session:request checks them (BadHeader); a bad timestamp or service raises, as tc3_sign does. */
static int l_call(lua_State *L)
{
    session *s = check_session(L);
    tc_crypto **pc = lua_touserdata(L, lua_upvalueindex(1));
    size_t url_len, host_len, service_len, action_len, version_len, region_len, token_len, lang_len,
        client_len, id_len, key_len, payload_len;
    int ok = 1;
    char sig[2 * TC_SHA256_LEN + 1], request_hex[2 * TC_SHA256_LEN + 1], date[11], stamp[24];
    static const char json_ct[] = "application/json", form_ct[] = "application/x-www-form-urlencoded";

    lua_settop(L, C_TOP - 1);
    const char *url = luaL_checklstring(L, C_URL, &url_len);
    const char *host = luaL_checklstring(L, C_HOST, &host_len);
    const char *service = luaL_checklstring(L, C_SERVICE, &service_len);
    const char *action = luaL_checklstring(L, C_ACTION, &action_len);
    lua_Number ts = luaL_checknumber(L, C_TIMESTAMP);
    const char *id = luaL_checklstring(L, C_ID, &id_len);
    const char *key = luaL_checklstring(L, C_KEY, &key_len);
    const char *payload = luaL_checklstring(L, C_PAYLOAD, &payload_len);
    luaL_checktype(L, C_ARRAY_MT, LUA_TTABLE);
    int plan = tcssl_json_plan_arg(L, C_PLAN);
    const char *m = luaL_optstring(L, C_METHOD, "POST");
    int get = strcmp(m, "GET") == 0;
    if (!get && strcmp(m, "POST") != 0)
        return luaL_argerror(L, C_METHOD, "GET or POST");
    const char *ct = get ? form_ct : json_ct;
    size_t ct_len = get ? sizeof form_ct - 1 : sizeof json_ct - 1;
    if (!pc || !*pc)
        return luaL_error(L, "tcssl.core: crypto context unavailable");
    if (!(ts >= 0 && ts < TC_MAX_TIMESTAMP))
        return luaL_error(L, "tcssl.core: timestamp out of range");
    if (service_len == 0 || service_len > TC_MAX_SERVICE)
        return luaL_error(L, "tcssl.core: bad service name");
    if (!s->h)
        return push_error(L, "protocol", "SessionClosed", "the session is closed");
    const char *version = opt_value(L, C_VERSION, &version_len, &ok);
    const char *region = opt_value(L, C_REGION, &region_len, &ok);
    const char *token = opt_value(L, C_TOKEN, &token_len, &ok);
    const char *lang = opt_value(L, C_LANGUAGE, &lang_len, &ok);
    const char *client = opt_value(L, C_CLIENT, &client_len, &ok);
    ok = ok && tc_header_value_safe(host, host_len) && tc_header_value_safe(action, action_len) &&
         tc_header_value_safe(id, id_len);
    long timeout, connect_timeout;
    int fresh, refused = call_options(L, ok, C_TIMEOUT, &timeout, &connect_timeout, &fresh);
    if (refused)
        return refused;
    long long t = (long long)ts;
    int stamp_len = snprintf(stamp, sizeof stamp, "%lld", t);

    tc_header signed_headers[2] = {{"content-type", 12, ct, ct_len}, {"host", 4, host, host_len}};
    tc3_input in = {key, key_len, service, service_len, m, strlen(m), get ? payload : "", get ? payload_len : 0,
                    get ? "" : payload, get ? 0 : payload_len, t, signed_headers, 2};
    if (tc3_signature(*pc, &in, sig, request_hex, date) != 0)
        return luaL_error(L, "tcssl.core: cannot sign (bad timestamp or OpenSSL failure)");

    /* the header lines, in the list kept in the session: nothing is allocated once buffers
     * have grown to a call's size */
    static const char expect[] = "Expect:";
    static const char cred[] = "TC3-HMAC-SHA256 Credential=";
    static const char scope[] = "/tc3_request, SignedHeaders=content-type;host, Signature=";
    size_t count = 1;
    int oom = 0;
    s->lines.len = 0;
    oom |= buffer_add(&s->lines, expect, sizeof expect);
#define LINE(name, v, vl)                                                                        \
    do {                                                                                         \
        oom |= add_line(s, name, sizeof name - 1, v, vl);                                        \
        count++;                                                                                 \
    } while (0)
    LINE("Host", host, host_len);
    LINE("X-TC-Action", action, action_len);
    if (version)
        LINE("X-TC-Version", version, version_len);
    LINE("X-TC-Timestamp", stamp, (size_t)stamp_len);
    if (region)
        LINE("X-TC-Region", region, region_len);
    if (token)
        LINE("X-TC-Token", token, token_len);
    if (lang)
        LINE("X-TC-Language", lang, lang_len);
    if (client)
        LINE("X-TC-RequestClient", client, client_len);
    LINE("Content-Type", ct, ct_len);
#undef LINE
    oom |= buffer_add(&s->lines, "Authorization: ", 15) || buffer_add(&s->lines, cred, sizeof cred - 1) ||
           buffer_add(&s->lines, id, id_len) || buffer_add(&s->lines, "/", 1) ||
           buffer_add(&s->lines, date, 10) || buffer_add(&s->lines, "/", 1) ||
           buffer_add(&s->lines, service, service_len) || buffer_add(&s->lines, scope, sizeof scope - 1) ||
           buffer_add(&s->lines, sig, 2 * TC_SHA256_LEN) || buffer_add(&s->lines, "", 1);
    count++;
    if (oom)
        return call_failed(L, s);
    if (get) {
        /* the query goes on the URL, as tcssl.request.build writes it */
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        luaL_addlstring(&b, url, url_len);
        if (payload_len) {
            luaL_addchar(&b, '?');
            luaL_addlstring(&b, payload, payload_len);
        }
        luaL_pushresult(&b);
        url = lua_tostring(L, -1); /* kept on the stack until the call returns */
        payload = NULL;
        payload_len = 0;
    }
    return call_tail(L, s, get ? "GET" : "POST", url, payload, payload_len, count, timeout, connect_timeout,
                     fresh, C_NULL, C_ARRAY_MT, plan);
}

enum {
    V_URL = 2, V_METHOD, V_HOST, V_SIGN_METHOD, V_KEY, V_TO_SIGN, V_WIRE, V_CLIENT, V_TIMEOUT,
    V_CONNECT_TIMEOUT, V_FRESH, V_NULL, V_ARRAY_MT, V_PLAN, V_TOP
};

/* session:call_v1(url, method, host, sign_method, secret_key, to_sign, wire, request_client,
 * timeout, connect_timeout, fresh, null, array_mt) -> as session:call
 * One request signed with signature v1, as tcssl.request.build_v1 makes it: the HMAC
 * (sign_method "HmacSHA1" or "HmacSHA256") of to_sign under secret_key, in base64, URL-encoded and
 * appended to wire (the sorted, encoded parameters) as "&Signature=..."; method "GET" sends that
 * on the URL (url?wire), "POST" as a form body with Content-Type
 * application/x-www-form-urlencoded. The headers are Host and X-TC-RequestClient (when not nil).
 * The reply is read as session:call reads it, by the same code. */
static int l_call_v1(lua_State *L)
{
    session *s = check_session(L);
    tc_crypto **pc = lua_touserdata(L, lua_upvalueindex(1));
    static const char *const names[] = {"HmacSHA1", "HmacSHA256", NULL};
    static const char *const methods[] = {"GET", "POST", NULL};
    static const char form_ct[] = "application/x-www-form-urlencoded";
    size_t url_len, host_len, key_len, to_sign_len, wire_len, client_len, mac_len = 0;
    unsigned char mac[TC_SHA256_LEN];
    char b64[4 * ((TC_SHA256_LEN + 2) / 3) + 1];
    int ok = 1;

    lua_settop(L, V_TOP - 1);
    const char *url = luaL_checklstring(L, V_URL, &url_len);
    int get = luaL_checkoption(L, V_METHOD, NULL, methods) == 0;
    const char *host = luaL_checklstring(L, V_HOST, &host_len);
    enum tc_alg alg = luaL_checkoption(L, V_SIGN_METHOD, NULL, names) == 0 ? TC_SHA1 : TC_SHA256;
    const char *key = luaL_checklstring(L, V_KEY, &key_len);
    const char *to_sign = luaL_checklstring(L, V_TO_SIGN, &to_sign_len);
    const char *wire = luaL_checklstring(L, V_WIRE, &wire_len);
    luaL_checktype(L, V_ARRAY_MT, LUA_TTABLE);
    int plan = tcssl_json_plan_arg(L, V_PLAN);
    if (!pc || !*pc)
        return luaL_error(L, "tcssl.core: crypto context unavailable");
    if (!s->h)
        return push_error(L, "protocol", "SessionClosed", "the session is closed");
    const char *client = opt_value(L, V_CLIENT, &client_len, &ok);
    ok = ok && tc_header_value_safe(host, host_len);
    long timeout, connect_timeout;
    int fresh, refused = call_options(L, ok, V_TIMEOUT, &timeout, &connect_timeout, &fresh);
    if (refused)
        return refused;

    if (tc_hmac(*pc, alg, key, key_len, to_sign, to_sign_len, mac, &mac_len) != 0)
        return luaL_error(L, "tcssl.core: cannot sign (OpenSSL failure)");
    size_t b64_len = tc_base64(mac, mac_len, b64);
    OPENSSL_cleanse(mac, sizeof mac);

    /* the URL (GET) or the body (POST): the parameters, then the signature percent-encoded as
     * tcssl.request.urlencode does (of base64's alphabet, '+', '/' and '=' are encoded) */
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    if (get) {
        luaL_addlstring(&b, url, url_len);
        luaL_addchar(&b, '?');
    }
    luaL_addlstring(&b, wire, wire_len);
    luaL_addstring(&b, "&Signature=");
    for (size_t i = 0; i < b64_len; i++) {
        char ch = b64[i];
        if (ch == '+')
            luaL_addstring(&b, "%2B");
        else if (ch == '/')
            luaL_addstring(&b, "%2F");
        else if (ch == '=')
            luaL_addstring(&b, "%3D");
        else
            luaL_addchar(&b, ch);
    }
    luaL_pushresult(&b);
    size_t out_len;
    const char *out = lua_tolstring(L, -1, &out_len); /* kept on the stack until the call returns */

    size_t count = 1;
    int oom = 0;
    static const char expect[] = "Expect:";
    s->lines.len = 0;
    oom |= buffer_add(&s->lines, expect, sizeof expect);
    oom |= add_line(s, "Host", 4, host, host_len);
    count++;
    if (client) {
        oom |= add_line(s, "X-TC-RequestClient", 18, client, client_len);
        count++;
    }
    if (!get) {
        oom |= add_line(s, "Content-Type", 12, form_ct, sizeof form_ct - 1);
        count++;
    }
    if (oom)
        return call_failed(L, s);
    return call_tail(L, s, get ? "GET" : "POST", get ? out : url, get ? NULL : out, get ? 0 : out_len, count,
                     timeout, connect_timeout, fresh, V_NULL, V_ARRAY_MT, plan);
}

/* session:body() -> the body of the last reply session:call decoded, until the session's next
 * request (nil otherwise): for the rare error message that quotes a reply that was JSON. */
static int l_body(lua_State *L)
{
    session *s = check_session(L);
    if (!s->body_kept)
        return 0;
    lua_pushlstring(L, s->body.data ? s->body.data : "", s->body.len);
    return 1;
}

static int l_stats(lua_State *L)
{
    session *s = check_session(L);
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, (lua_Integer)s->connects);
    lua_setfield(L, -2, "connects");
    lua_pushinteger(L, (lua_Integer)s->requests);
    lua_setfield(L, -2, "requests");
    return 1;
}

static int l_tostring(lua_State *L)
{
    session *s = check_session(L);
    lua_pushfstring(L, "tcssl.session (%s): %p", s->h ? "open" : "closed", (void *)s);
    return 1;
}

static const luaL_Reg session_methods[] = {
    {"request", l_request}, {"body", l_body}, {"close", l_close}, {"stats", l_stats}, {NULL, NULL}};

void tcssl_open_http(lua_State *L, int crypto)
{
    static int initialised = 0;
    if (!initialised) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            luaL_error(L, "tcssl.core: curl_global_init failed");
        initialised = 1;
    }
    if (luaL_newmetatable(L, SESSION_MT)) {
        lua_newtable(L);
        luaL_setfuncs(L, session_methods, 0);
        lua_pushvalue(L, crypto); /* call signs with the module's context */
        lua_pushcclosure(L, l_call, 1);
        lua_setfield(L, -2, "call");
        lua_pushvalue(L, crypto);
        lua_pushcclosure(L, l_call_v1, 1);
        lua_setfield(L, -2, "call_v1");
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__gc");
#if LUA_VERSION_NUM >= 504
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__close");
#endif
        lua_pushcfunction(L, l_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_session);
    lua_setfield(L, -2, "session");
    lua_pushstring(L, curl_version_info(CURLVERSION_NOW)->version);
    lua_setfield(L, -2, "curl_version");
}
