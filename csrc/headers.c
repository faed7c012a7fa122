/* HTTP header text; see headers.h. */
#include "headers.h"

#include <string.h>

int tc_is_token(const char *p, size_t n)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch && strchr(extra, ch))))
            return 0;
    }
    return 1;
}

int tc_header_value_safe(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0')
            return 0;
    return 1;
}

static int blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

int tc_header_next(const char *buf, size_t len, size_t *pos, tc_span *name, tc_span *value)
{
    while (buf && *pos < len) {
        const char *line = buf + *pos;
        const char *end = memchr(line, '\n', len - *pos);
        size_t n = end ? (size_t)(end - line) : len - *pos;
        *pos += n + (end ? 1 : 0);
        if (n && line[n - 1] == '\r')
            n--;
        const char *colon = memchr(line, ':', n);
        if (!colon || colon == line)
            continue; /* the status line, a blank line or junk */
        const char *v = colon + 1, *vend = line + n;
        while (v < vend && blank(*v))
            v++;
        while (vend > v && blank(vend[-1]))
            vend--;
        name->p = line;
        name->len = (size_t)(colon - line);
        value->p = v;
        value->len = (size_t)(vend - v);
        return 1;
    }
    return 0;
}
