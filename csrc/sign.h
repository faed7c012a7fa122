/* Hashing and request signing for tcssl: plain C over OpenSSL 3, no Lua. */
#ifndef TCSSL_SIGN_H
#define TCSSL_SIGN_H

#include <stddef.h>

#define TC_SHA256_LEN 32
#define TC_SHA1_LEN 20
#define TC_MAX_SERVICE 64
#define TC_MAX_HEADERS 32
#define TC_MAX_TIMESTAMP 253402300800.0 /* 10000-01-01: dates stay YYYY-MM-DD */

enum tc_alg { TC_SHA1 = 1, TC_SHA256 = 2 };

typedef struct tc_crypto tc_crypto;

typedef struct {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} tc_header;

typedef struct {
    const char *secret_key;
    size_t secret_key_len;
    const char *service;
    size_t service_len;
    const char *method;
    size_t method_len;
    const char *query;
    size_t query_len;
    const char *payload;
    size_t payload_len;
    long long timestamp;
    /* every signed header, content-type and host included; sorted in place */
    tc_header *headers;
    size_t n_headers;
} tc3_input;

/* All functions return 0 on success and -1 on failure (OpenSSL error or bad input). */
tc_crypto *tc_crypto_new(void);
void tc_crypto_free(tc_crypto *c);

int tc_sha256(tc_crypto *c, const void *data, size_t len, unsigned char out[TC_SHA256_LEN]);
int tc_hmac(tc_crypto *c, enum tc_alg alg, const void *key, size_t key_len, const void *data,
            size_t len, unsigned char *out, size_t *out_len);

void tc_hex(const unsigned char *in, size_t len, char *out); /* writes 2*len chars, no NUL */
size_t tc_base64(const unsigned char *in, size_t len, char *out); /* out: 4*((len+2)/3)+1 */
long tc_unbase64(const char *in, size_t len, unsigned char *out); /* out: 3*(len/4)+3; -1 on error */

/* UTC calendar date of a Unix time as YYYY-MM-DD (11 bytes with NUL). */
int tc_utc_date(long long t, char out[11]);

/* The TC3 derived signing key for (secret key, date, service), cached per crypto context. */
int tc3_derive(tc_crypto *c, const char *key, size_t key_len, const char *date,
               const char *service, size_t service_len, unsigned char out[TC_SHA256_LEN]);

/* Computes the TC3-HMAC-SHA256 signature (lowercase hex), the hashed canonical request
 * (lowercase hex, for tests and diagnostics) and the credential date.
 * Sorts in->headers by lowercase name; fails on duplicate or empty names. */
int tc3_signature(tc_crypto *c, tc3_input *in, char sig_hex[2 * TC_SHA256_LEN + 1],
                  char request_hex[2 * TC_SHA256_LEN + 1], char date[11]);

#endif
