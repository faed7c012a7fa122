#ifndef TCSSL_PLAN_H
#define TCSSL_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A compiled plan (tidy.c's json_plan): the plans tcssl.schema builds from the model, reachable
 * from one root, made into arrays json.c reads while it decodes. Plan 0 is the root; a field's
 * sub is the number of its struct's plan, or -1 when the field is no struct with a plan. The
 * userdata's user value is a table of the fields' names as Lua strings, field k at k + 1, which
 * the reader pushes as the keys of the fields it finds. */
#define PLAN_MT "tcssl.plan" /* the compiled plan userdata's metatable */

enum { K_STRING = 1, K_BOOLEAN = 2, K_INTEGER = 3, K_FLOAT = 4, K_STRUCT = 5, K_ARRAY = 8 };

typedef struct {
    const char *name;
    size_t len;
    int code; /* a kind, plus K_ARRAY for an array of them; 0 for one no walk checks */
    int sub;
    int hint; /* the size of the last array or object read as its value, -1 before the first */
} tc_plan_field;

typedef struct {
    int first;     /* the number of its first field in fields */
    unsigned mask; /* its hash table's size less one (a power of two less one) */
    int *slots;    /* field number + 1 by hash, 0 for an empty slot */
} tc_plan_info;

typedef struct {
    tc_plan_info *plans;
    tc_plan_field *fields;
} tc_plan;

/* The hash of a name of n bytes (shared with the JSON reader's key cache). */
static inline unsigned tc_name_hash(const unsigned char *s, size_t n)
{
    return n ? (unsigned)n * 31u + s[0] * 7u + s[n - 1] * 3u + s[n / 2] : 0u;
}

/* Whether the n bytes at a and b are the same: memcmp for the short names of a reply, without
 * the call (8 bytes at a time, then the rest). */
static inline int tc_same(const unsigned char *a, const unsigned char *b, size_t n)
{
    uint64_t x, y;
    while (n >= 8) {
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y)
            return 0;
        a += 8, b += 8, n -= 8;
    }
    while (n--)
        if (*a++ != *b++)
            return 0;
    return 1;
}

/* The number of the field of plan p named by the n bytes at s, or -1. */
static inline int tc_plan_find(const tc_plan *cp, int p, const unsigned char *s, size_t n)
{
    const tc_plan_info *pi = &cp->plans[p];
    unsigned h = tc_name_hash(s, n) & pi->mask;
    int f;
    while ((f = pi->slots[h]) != 0) {
        const tc_plan_field *fd = &cp->fields[f - 1];
        if (fd->len == n && tc_same((const unsigned char *)fd->name, s, n))
            return f - 1;
        h = (h + 1) & pi->mask;
    }
    return -1;
}

#endif
