/* Hashing and TC3 / v1 signing on OpenSSL 3's EVP and EVP_MAC interfaces. */
#include "sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define TC_CACHE_SLOTS 4

typedef struct {
    char *key; /* copy of the secret key, cleansed when evicted */
    size_t key_len;
    char date[11];
    char service[TC_MAX_SERVICE + 1];
    unsigned char derived[TC_SHA256_LEN];
    EVP_MAC_CTX *signer; /* HMAC-SHA256 keyed with derived, made on first use; NULL if none */
} tc_cache_slot;

struct tc_crypto {
    EVP_MD *sha256;
    EVP_MD_CTX *md_ctx;
    EVP_MAC *hmac;
    EVP_MAC_CTX *mac_sha256;
    EVP_MAC_CTX *mac_sha1;
    int mac_sha256_ready, mac_sha1_ready;
    tc_cache_slot cache[TC_CACHE_SLOTS];
    unsigned next_slot;
};

tc_crypto *tc_crypto_new(void)
{
    tc_crypto *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    c->md_ctx = EVP_MD_CTX_new();
    c->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (c->hmac) {
        c->mac_sha256 = EVP_MAC_CTX_new(c->hmac);
        c->mac_sha1 = EVP_MAC_CTX_new(c->hmac);
    }
    if (!c->sha256 || !c->md_ctx || !c->hmac || !c->mac_sha256 || !c->mac_sha1) {
        tc_crypto_free(c);
        return NULL;
    }
    return c;
}

void tc_crypto_free(tc_crypto *c)
{
    if (!c)
        return;
    for (int i = 0; i < TC_CACHE_SLOTS; i++) {
        if (c->cache[i].key) {
            OPENSSL_cleanse(c->cache[i].key, c->cache[i].key_len);
            free(c->cache[i].key);
        }
        EVP_MAC_CTX_free(c->cache[i].signer);
    }
    OPENSSL_cleanse(c->cache, sizeof c->cache);
    EVP_MAC_CTX_free(c->mac_sha256);
    EVP_MAC_CTX_free(c->mac_sha1);
    EVP_MAC_free(c->hmac);
    EVP_MD_CTX_free(c->md_ctx);
    EVP_MD_free(c->sha256);
    free(c);
}

int tc_sha256(tc_crypto *c, const void *data, size_t len, unsigned char out[TC_SHA256_LEN])
{
    unsigned int n = 0;
    if (!EVP_DigestInit_ex2(c->md_ctx, c->sha256, NULL) ||
        !EVP_DigestUpdate(c->md_ctx, data, len) || !EVP_DigestFinal_ex(c->md_ctx, out, &n))
        return -1;
    return n == TC_SHA256_LEN ? 0 : -1;
}

int tc_hmac(tc_crypto *c, enum tc_alg alg, const void *key, size_t key_len, const void *data,
            size_t len, unsigned char *out, size_t *out_len)
{
    EVP_MAC_CTX *ctx = alg == TC_SHA1 ? c->mac_sha1 : c->mac_sha256;
    int *ready = alg == TC_SHA1 ? &c->mac_sha1_ready : &c->mac_sha256_ready;
    size_t want = alg == TC_SHA1 ? TC_SHA1_LEN : TC_SHA256_LEN;
    OSSL_PARAM params[2];
    OSSL_PARAM *p = NULL;
    static const unsigned char empty_key[1] = {0};

    if (alg != TC_SHA1 && alg != TC_SHA256)
        return -1;
    /* the digest is set once; later inits only change the key */
    if (!*ready) {
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                     alg == TC_SHA1 ? "SHA1" : "SHA256", 0);
        params[1] = OSSL_PARAM_construct_end();
        p = params;
    }
    /* OpenSSL's HMAC refuses a NULL key pointer, even with length 0 */
    if (!EVP_MAC_init(ctx, key_len ? key : empty_key, key_len, p))
        return -1;
    *ready = 1;
    if (!EVP_MAC_update(ctx, data, len) || !EVP_MAC_final(ctx, out, out_len, want))
        return -1;
    return *out_len == want ? 0 : -1;
}

void tc_hex(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
}

size_t tc_base64(const unsigned char *in, size_t len, char *out)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned long v = ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8) | in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63];
        out[o++] = tab[v & 63];
    }
    if (i < len) {
        unsigned long v = (unsigned long)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned long)in[i + 1] << 8;
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

static int b64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/* Strict decoder: ignores ASCII whitespace (PEM and API payloads wrap lines), requires
 * padding to a multiple of four, and rejects data after the padding. */
long tc_unbase64(const char *in, size_t len, unsigned char *out)
{
    unsigned long acc = 0;
    int n = 0, pad = 0;
    long o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
            continue;
        if (ch == '=') {
            if (n < 2)
                return -1;
            pad++;
            acc <<= 6;
            n++;
        } else {
            int v = b64_value(ch);
            if (v < 0 || pad)
                return -1;
            acc = (acc << 6) | (unsigned long)v;
            n++;
        }
        if (n == 4) {
            out[o++] = (unsigned char)(acc >> 16);
            if (pad < 2)
                out[o++] = (unsigned char)(acc >> 8);
            if (pad < 1)
                out[o++] = (unsigned char)acc;
            acc = 0;
            n = 0;
            if (pad)
                pad = 3; /* anything but whitespace after padding is an error */
        }
    }
    return n == 0 ? o : -1;
}

int tc_utc_date(long long t, char out[11])
{
    /* civil-from-days, valid for the proleptic Gregorian calendar */
    long long days = t / 86400;
    if (t % 86400 < 0)
        days--;
    long long z = days + 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long y = yoe + era * 400;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    long long d = doy - (153 * mp + 2) / 5 + 1;
    long long m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2)
        y++;
    if (y < 0 || y > 9999)
        return -1;
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
    return 0;
}

/* The cache slot holding (key, date, service), deriving and storing it when absent: its index,
 * or -1 when derivation failed, or -2 when it worked but could not be cached (out is still set). */
static int derive_slot(tc_crypto *c, const char *key, size_t key_len, const char *date,
                       const char *service, size_t service_len, unsigned char out[TC_SHA256_LEN])
{
    unsigned char k1[TC_SHA256_LEN], k2[TC_SHA256_LEN];
    size_t n;
    char *prefixed;
    int rc = -1;

    if (service_len > TC_MAX_SERVICE || memchr(service, '\0', service_len))
        return -1;
    for (int i = 0; i < TC_CACHE_SLOTS; i++) {
        tc_cache_slot *s = &c->cache[i];
        if (s->key && s->key_len == key_len && memcmp(s->key, key, key_len) == 0 &&
            memcmp(s->date, date, 10) == 0 && strlen(s->service) == service_len &&
            memcmp(s->service, service, service_len) == 0) {
            memcpy(out, s->derived, TC_SHA256_LEN);
            return i;
        }
    }

    prefixed = malloc(key_len + 3);
    if (!prefixed)
        return -1;
    memcpy(prefixed, "TC3", 3);
    memcpy(prefixed + 3, key, key_len);
    if (tc_hmac(c, TC_SHA256, prefixed, key_len + 3, date, 10, k1, &n) == 0 &&
        tc_hmac(c, TC_SHA256, k1, sizeof k1, service, service_len, k2, &n) == 0 &&
        tc_hmac(c, TC_SHA256, k2, sizeof k2, "tc3_request", 11, out, &n) == 0)
        rc = 0;
    OPENSSL_cleanse(prefixed, key_len + 3);
    free(prefixed);
    OPENSSL_cleanse(k1, sizeof k1);
    OPENSSL_cleanse(k2, sizeof k2);
    if (rc != 0)
        return -1;

    /* remember it; on allocation failure just skip caching */
    char *copy = malloc(key_len ? key_len : 1);
    if (!copy)
        return -2;
    int i = (int)c->next_slot;
    tc_cache_slot *s = &c->cache[i];
    c->next_slot = (c->next_slot + 1) % TC_CACHE_SLOTS;
    if (s->key) {
        OPENSSL_cleanse(s->key, s->key_len);
        free(s->key);
    }
    EVP_MAC_CTX_free(s->signer); /* keyed with the evicted key */
    s->signer = NULL;
    memcpy(copy, key, key_len);
    s->key = copy;
    s->key_len = key_len;
    memcpy(s->date, date, 11);
    memcpy(s->service, service, service_len);
    s->service[service_len] = '\0';
    memcpy(s->derived, out, TC_SHA256_LEN);
    return i;
}

int tc3_derive(tc_crypto *c, const char *key, size_t key_len, const char *date,
               const char *service, size_t service_len, unsigned char out[TC_SHA256_LEN])
{
    return derive_slot(c, key, key_len, date, service, service_len, out) == -1 ? -1 : 0;
}

/* HMAC-SHA256 of data under the derived key of slot i (or under key when i < 0). The slot's
 * context is keyed once; later signatures only reset it, which skips the key schedule. */
static int sign_with(tc_crypto *c, int i, const unsigned char key[TC_SHA256_LEN],
                     const char *data, size_t len, unsigned char out[TC_SHA256_LEN])
{
    size_t n = 0;
    if (i >= 0) {
        tc_cache_slot *s = &c->cache[i];
        if (!s->signer) {
            OSSL_PARAM params[2];
            params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
            params[1] = OSSL_PARAM_construct_end();
            s->signer = EVP_MAC_CTX_new(c->hmac);
            if (s->signer && !EVP_MAC_init(s->signer, key, TC_SHA256_LEN, params)) {
                EVP_MAC_CTX_free(s->signer);
                s->signer = NULL;
            }
            if (s->signer && EVP_MAC_update(s->signer, (const unsigned char *)data, len) &&
                EVP_MAC_final(s->signer, out, &n, TC_SHA256_LEN))
                return n == TC_SHA256_LEN ? 0 : -1;
        } else if (EVP_MAC_init(s->signer, NULL, 0, NULL) &&
                   EVP_MAC_update(s->signer, (const unsigned char *)data, len) &&
                   EVP_MAC_final(s->signer, out, &n, TC_SHA256_LEN)) {
            return n == TC_SHA256_LEN ? 0 : -1;
        }
    }
    return tc_hmac(c, TC_SHA256, key, TC_SHA256_LEN, data, len, out, &n);
}

static unsigned char lower(unsigned char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch - 'A' + 'a') : ch;
}

static int name_cmp(const tc_header *a, const tc_header *b)
{
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = lower((unsigned char)a->name[i]), y = lower((unsigned char)b->name[i]);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return a->name_len < b->name_len ? -1 : a->name_len > b->name_len ? 1 : 0;
}

/* Feeds text to the digest in lowercase, through a small stack buffer. */
static int update_lower(EVP_MD_CTX *ctx, const char *s, size_t len)
{
    unsigned char buf[256];
    while (len) {
        size_t n = len < sizeof buf ? len : sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = lower((unsigned char)s[i]);
        if (!EVP_DigestUpdate(ctx, buf, n))
            return -1;
        s += n;
        len -= n;
    }
    return 0;
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* A header value as it is signed: without leading and trailing blanks. */
static void trim_blanks(const char **v, size_t *vl)
{
    while (*vl && is_space(**v))
        (*v)++, (*vl)--;
    while (*vl && is_space((*v)[*vl - 1]))
        (*vl)--;
}

/* Streams a canonical request too large for the stack buffer into the digest. */
static int canonical_streamed(tc_crypto *c, const tc3_input *in, const char hex[2 * TC_SHA256_LEN],
                              unsigned char request_hash[TC_SHA256_LEN])
{
    EVP_MD_CTX *ctx = c->md_ctx;
    unsigned int n = 0;
    if (!EVP_DigestInit_ex2(ctx, c->sha256, NULL) ||
        !EVP_DigestUpdate(ctx, in->method, in->method_len) ||
        !EVP_DigestUpdate(ctx, "\n/\n", 3) || !EVP_DigestUpdate(ctx, in->query, in->query_len) ||
        !EVP_DigestUpdate(ctx, "\n", 1))
        return -1;
    for (size_t i = 0; i < in->n_headers; i++) {
        const char *v = in->headers[i].value;
        size_t vl = in->headers[i].value_len;
        trim_blanks(&v, &vl);
        if (update_lower(ctx, in->headers[i].name, in->headers[i].name_len) != 0 ||
            !EVP_DigestUpdate(ctx, ":", 1) || update_lower(ctx, v, vl) != 0 ||
            !EVP_DigestUpdate(ctx, "\n", 1))
            return -1;
    }
    if (!EVP_DigestUpdate(ctx, "\n", 1))
        return -1;
    for (size_t i = 0; i < in->n_headers; i++) {
        if ((i > 0 && !EVP_DigestUpdate(ctx, ";", 1)) ||
            update_lower(ctx, in->headers[i].name, in->headers[i].name_len) != 0)
            return -1;
    }
    if (!EVP_DigestUpdate(ctx, "\n", 1) || !EVP_DigestUpdate(ctx, hex, 2 * TC_SHA256_LEN) ||
        !EVP_DigestFinal_ex(ctx, request_hash, &n))
        return -1;
    return 0;
}

#define CANONICAL_BUFFER 2048

static size_t copy_lower(char *buf, size_t o, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[o + i] = (char)lower((unsigned char)s[i]);
    return o + len;
}

/* Writes the decimal digits of a non-negative number; returns how many. */
static size_t put_decimal(char *out, long long v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

int tc3_signature(tc_crypto *c, tc3_input *in, char sig_hex[2 * TC_SHA256_LEN + 1],
                  char request_hex[2 * TC_SHA256_LEN + 1], char date[11])
{
    unsigned char payload_hash[TC_SHA256_LEN], request_hash[TC_SHA256_LEN];
    unsigned char key[TC_SHA256_LEN], sig[TC_SHA256_LEN];
    char hex[2 * TC_SHA256_LEN];
    char sts[64 + TC_MAX_SERVICE + 2 * TC_SHA256_LEN];
    EVP_MD_CTX *ctx = c->md_ctx;
    unsigned int n = 0;

    if (in->n_headers > TC_MAX_HEADERS || in->service_len > TC_MAX_SERVICE ||
        tc_utc_date(in->timestamp, date) != 0)
        return -1;
    /* insertion sort: a handful of headers */
    for (size_t i = 1; i < in->n_headers; i++) {
        tc_header h = in->headers[i];
        size_t j = i;
        while (j > 0 && name_cmp(&in->headers[j - 1], &h) > 0) {
            in->headers[j] = in->headers[j - 1];
            j--;
        }
        in->headers[j] = h;
    }
    for (size_t i = 0; i < in->n_headers; i++) {
        if (in->headers[i].name_len == 0 ||
            (i > 0 && name_cmp(&in->headers[i - 1], &in->headers[i]) == 0))
            return -1;
    }

    if (tc_sha256(c, in->payload, in->payload_len, payload_hash) != 0)
        return -1;
    tc_hex(payload_hash, sizeof payload_hash, hex);

    /* The canonical request: built in a stack buffer and hashed in one update when it fits
     * (the usual case: a few hundred bytes), else streamed into the digest piece by piece. */
    size_t need = in->method_len + 3 + in->query_len + 1 + 1 + 1 + sizeof hex;
    for (size_t i = 0; i < in->n_headers; i++)
        need += 2 * in->headers[i].name_len + in->headers[i].value_len + 3;
    if (need <= CANONICAL_BUFFER) {
        char buf[CANONICAL_BUFFER];
        size_t o = 0;
        memcpy(buf, in->method, in->method_len);
        o += in->method_len;
        memcpy(buf + o, "\n/\n", 3);
        o += 3;
        memcpy(buf + o, in->query, in->query_len);
        o += in->query_len;
        buf[o++] = '\n';
        for (size_t i = 0; i < in->n_headers; i++) {
            const char *v = in->headers[i].value;
            size_t vl = in->headers[i].value_len;
            trim_blanks(&v, &vl);
            o = copy_lower(buf, o, in->headers[i].name, in->headers[i].name_len);
            buf[o++] = ':';
            o = copy_lower(buf, o, v, vl);
            buf[o++] = '\n';
        }
        buf[o++] = '\n';
        for (size_t i = 0; i < in->n_headers; i++) {
            if (i > 0)
                buf[o++] = ';';
            o = copy_lower(buf, o, in->headers[i].name, in->headers[i].name_len);
        }
        buf[o++] = '\n';
        memcpy(buf + o, hex, sizeof hex);
        o += sizeof hex;
        if (!EVP_DigestInit_ex2(ctx, c->sha256, NULL) || !EVP_DigestUpdate(ctx, buf, o) ||
            !EVP_DigestFinal_ex(ctx, request_hash, &n))
            return -1;
    } else if (canonical_streamed(c, in, hex, request_hash) != 0) {
        return -1;
    }
    tc_hex(request_hash, sizeof request_hash, hex);
    memcpy(request_hex, hex, sizeof hex);
    request_hex[sizeof hex] = '\0';

    /* "TC3-HMAC-SHA256\n<timestamp>\n<date>/<service>/tc3_request\n<hashed request>" */
    size_t o = 0;
    memcpy(sts, "TC3-HMAC-SHA256\n", 16);
    o += 16;
    o += put_decimal(sts + o, in->timestamp);
    sts[o++] = '\n';
    memcpy(sts + o, date, 10);
    o += 10;
    sts[o++] = '/';
    memcpy(sts + o, in->service, in->service_len);
    o += in->service_len;
    memcpy(sts + o, "/tc3_request\n", 13);
    o += 13;
    memcpy(sts + o, hex, sizeof hex);
    o += sizeof hex;
    int slot = derive_slot(c, in->secret_key, in->secret_key_len, date, in->service,
                           in->service_len, key);
    if (slot == -1)
        return -1;
    int rc = sign_with(c, slot, key, sts, o, sig);
    OPENSSL_cleanse(key, sizeof key);
    if (rc != 0)
        return -1;
    tc_hex(sig, sizeof sig, sig_hex);
    sig_hex[2 * TC_SHA256_LEN] = '\0';
    return 0;
}
