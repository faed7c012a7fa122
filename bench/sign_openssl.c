/* The floor for TC3 signing: the same SHA-256 and HMAC-SHA256 chain as tcssl.core.tc3_sign,
 * written directly against OpenSSL 3's EVP interfaces with everything fetched once (digest,
 * MAC, contexts), the canonical request and the string to sign built in stack buffers, and the
 * Authorization header formatted at the end. No Lua, no checks beyond what C needs.
 *
 *   sign_openssl cached|uncached
 *
 * "cached" keeps the derived key (SecretSigning) for the date, as tcssl's core does, so a
 * signature costs two SHA-256 and one HMAC; "uncached" derives it every time (three more HMACs).
 * A program of the round protocol (bench/rounds.h, bench/lib.lua); its last line carries the
 * Authorization value, which must equal tcssl's. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "rounds.h"

/* The request of bench/fixtures.lua (F.SIGN, F.SECRET_ID, F.SECRET_KEY, F.TIMESTAMP). */
static const char SECRET_ID[] = "AKIDbenchbenchbenchbenchbenchbench01";
static const char SECRET_KEY[] = "benchsecretkeybenchsecretkeybench1";
static const char HOST[] = "ssl.tencentcloudapi.com";
static const char SERVICE[] = "ssl";
static const char CONTENT_TYPE[] = "application/json";
static const char PAYLOAD[] = "{\"Limit\":10,\"Offset\":0,\"SearchKey\":\"bench.example.com\"}";
static const long long TIMESTAMP = 1764000000;

#define BATCH 1000

static EVP_MD *sha256;
static EVP_MD_CTX *md;
static EVP_MAC_CTX *mac;

static void die(const char *what)
{
    fprintf(stderr, "sign_openssl: %s failed\n", what);
    exit(1);
}

static void hex(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char d[32];
    unsigned int n = 0;
    if (!EVP_DigestInit_ex2(md, sha256, NULL) || !EVP_DigestUpdate(md, data, len) ||
        !EVP_DigestFinal_ex(md, d, &n))
        die("SHA-256");
    hex(d, sizeof d, out);
}

static void hmac(const void *key, size_t key_len, const void *data, size_t len,
                 unsigned char out[32])
{
    size_t n = 0;
    if (!EVP_MAC_init(mac, key, key_len, NULL) || !EVP_MAC_update(mac, data, len) ||
        !EVP_MAC_final(mac, out, &n, 32))
        die("HMAC");
}

/* SecretSigning for (key, date, service), remembered for the last date when cache is set. */
static void derive(const char *date, int cache, unsigned char out[32])
{
    static char cached_date[11];
    static unsigned char cached_key[32];
    char prefixed[sizeof SECRET_KEY + 3];
    unsigned char k1[32], k2[32];

    if (cache && strcmp(cached_date, date) == 0) {
        memcpy(out, cached_key, 32);
        return;
    }
    memcpy(prefixed, "TC3", 3);
    memcpy(prefixed + 3, SECRET_KEY, sizeof SECRET_KEY - 1);
    hmac(prefixed, sizeof SECRET_KEY + 2, date, strlen(date), k1);
    hmac(k1, 32, SERVICE, sizeof SERVICE - 1, k2);
    hmac(k2, 32, "tc3_request", 11, out);
    if (cache) {
        memcpy(cached_date, date, 11);
        memcpy(cached_key, out, 32);
    }
}

/* One Authorization header value for the fixed request. */
static void sign(int cache, char *auth, size_t auth_size)
{
    char payload_hash[65], request_hash[65], date[11], signature[65];
    char canonical[512], to_sign[256];
    unsigned char key[32], sig[32];
    struct tm tm;
    time_t t = (time_t)TIMESTAMP;

    sha256_hex(PAYLOAD, sizeof PAYLOAD - 1, payload_hash);
    int n = snprintf(canonical, sizeof canonical,
                     "POST\n/\n\ncontent-type:%s\nhost:%s\n\ncontent-type;host\n%s",
                     CONTENT_TYPE, HOST, payload_hash);
    sha256_hex(canonical, (size_t)n, request_hash);
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%Y-%m-%d", &tm);
    n = snprintf(to_sign, sizeof to_sign, "TC3-HMAC-SHA256\n%lld\n%s/%s/tc3_request\n%s",
                 TIMESTAMP, date, SERVICE, request_hash);
    derive(date, cache, key);
    hmac(key, sizeof key, to_sign, (size_t)n, sig);
    hex(sig, sizeof sig, signature);
    snprintf(auth, auth_size,
             "TC3-HMAC-SHA256 Credential=%s/%s/%s/tc3_request, SignedHeaders=content-type;host, "
             "Signature=%s",
             SECRET_ID, date, SERVICE, signature);
}

static void step(void *ctx, long n)
{
    char auth[256];
    int cache = *(int *)ctx;
    for (long i = 0; i < n; i++)
        sign(cache, auth, sizeof auth);
}

int main(int argc, char **argv)
{
    int cache = argc > 1 && strcmp(argv[1], "uncached") != 0;
    char auth[256];
    OSSL_PARAM params[2];
    EVP_MAC *hmac_alg;

    if (argc != 2 || (strcmp(argv[1], "cached") != 0 && strcmp(argv[1], "uncached") != 0)) {
        fprintf(stderr, "usage: sign_openssl cached|uncached\n");
        return 2;
    }
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    md = EVP_MD_CTX_new();
    hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
    mac = hmac_alg ? EVP_MAC_CTX_new(hmac_alg) : NULL;
    if (!sha256 || !md || !mac)
        die("OpenSSL setup");
    /* the digest is set once on the MAC context; each init after that only changes the key */
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (!EVP_MAC_CTX_set_params(mac, params))
        die("HMAC digest");

    rounds_serve(step, &cache, BATCH);
    sign(cache, auth, sizeof auth);
    printf("{\"final\":true,\"authorization\":\"%s\"}\n", auth);

    EVP_MAC_CTX_free(mac);
    EVP_MAC_free(hmac_alg);
    EVP_MD_CTX_free(md);
    EVP_MD_free(sha256);
    return 0;
}
