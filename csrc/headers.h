/* HTTP header text: checks for what tcssl sends and a reader for what it receives. Plain C,
 * no Lua and no libcurl, so that it can be fuzzed on its own. */
#ifndef TCSSL_HEADERS_H
#define TCSSL_HEADERS_H

#include <stddef.h>

typedef struct {
    const char *p;
    size_t len;
} tc_span;

/* 1 when p[0..n) is a non-empty RFC 7230 token (header names, methods). */
int tc_is_token(const char *p, size_t n);

/* 1 when a header value holds no CR, LF or NUL (no header injection). */
int tc_header_value_safe(const char *p, size_t n);

/* Reads the next "Name: value" line of a raw header block from *pos on, skipping status lines
 * and lines without a colon; trims blanks around the value. Returns 1 with the spans set
 * (pointing into buf), 0 at the end. */
int tc_header_next(const char *buf, size_t len, size_t *pos, tc_span *name, tc_span *value);

/* The ASCII lowercase of ch: header names compare without case. */
static inline char tc_lower(char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

#endif
