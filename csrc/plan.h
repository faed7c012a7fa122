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

/* A byte that stands for itself in a JSON string literal: not '"', not '\\', not a control
 * character (json.c's reader scans for the others; a plan name of such bytes only is plain). */
#define PLAIN(c) ((c) >= 0x20 && (c) != '"' && (c) != '\\')

enum { K_STRING = 1, K_BOOLEAN = 2, K_INTEGER = 3, K_FLOAT = 4, K_STRUCT = 5, K_ARRAY = 8 };

typedef struct {
    const char *name;
    size_t len;
    int code; /* a kind, plus K_ARRAY for an array of them; 0 for one no walk checks */
    int sub;
    int hint; /* the size of the last array or object read as its value, -1 before the first */
    int items; /* for an array: the size of the last object read as its item, -1 before */
    int next; /* the field that came after it in the last object read, -1 before */
    int plain; /* its name holds no quote, backslash or control byte */
} tc_plan_field;

typedef struct {
    uint32_t hash; /* the name's tc_name_hash */
    int field;     /* its field's number + 1; 0 for an empty slot */
} tc_plan_slot;

typedef struct {
    int first;           /* the number of its first field in fields */
    int lead;            /* the field that came first in the last object read, -1 before */
    unsigned mask;       /* its hash table's size less one (a power of two less one) */
    tc_plan_slot *slots; /* the fields by hash, linear probing */
} tc_plan_info;

typedef struct {
    tc_plan_info *plans;
    tc_plan_field *fields;
} tc_plan;

/* The hash of a name of n bytes (shared with the JSON reader's key cache): its first and last
 * eight bytes (four, or three bytes, for a shorter name) and its length, multiplied through. */
static inline uint32_t tc_name_hash(const unsigned char *s, size_t n)
{
    uint64_t a = 0, b = 0, h;
    if (n >= 8) {
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
    } else if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, s, 4);
        memcpy(&y, s + n - 4, 4);
        a = x;
        b = y;
    } else if (n) {
        a = (uint64_t)s[0] | (uint64_t)s[n / 2] << 8 | (uint64_t)s[n - 1] << 16;
    }
    h = a * 0x9E3779B97F4A7C15u ^ (b + n) * 0xC2B2AE3D27D4EB4Fu;
    return (uint32_t)(h >> 32) ^ (uint32_t)h;
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
    uint32_t hash = tc_name_hash(s, n);
    unsigned h = hash & pi->mask;
    int f;
    while ((f = pi->slots[h].field) != 0) {
        if (pi->slots[h].hash == hash) {
            const tc_plan_field *fd = &cp->fields[f - 1];
            if (fd->len == n && tc_same((const unsigned char *)fd->name, s, n))
                return f - 1;
        }
        h = (h + 1) & pi->mask;
    }
    return -1;
}

#endif
