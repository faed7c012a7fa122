/* tcssl.core X.509 helpers: what the emulator and the certificate helpers need to know about a
 * PEM certificate or key, read with OpenSSL. OpenSSL objects are held in a "box" userdata
 * whose __gc frees them, so a Lua error (out of memory) while building results leaks nothing. */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sign.h"
#include "tcssl.h"

#define BOX_MT "tcssl.x509box"
#define BOX_SLOTS 4
#define MAX_CHAIN 32

typedef void (*freer)(void *);

typedef struct {
    void *p[BOX_SLOTS];
    freer f[BOX_SLOTS];
} box;

static void box_release(box *b, int i)
{
    if (b->p[i]) {
        b->f[i](b->p[i]);
        b->p[i] = NULL;
    }
}

static int box_gc(lua_State *L)
{
    box *b = luaL_checkudata(L, 1, BOX_MT);
    for (int i = 0; i < BOX_SLOTS; i++)
        box_release(b, i);
    return 0;
}

static box *new_box(lua_State *L)
{
    return tcssl_guard(L, sizeof(box), BOX_MT, box_gc);
}

static void free_bio(void *p) { BIO_free(p); }
static void free_x509(void *p) { X509_free(p); }
static void free_pkey(void *p) { EVP_PKEY_free(p); }
static void free_gens(void *p) { GENERAL_NAMES_free(p); }
static void free_mem(void *p) { OPENSSL_free(p); }

/* Slots of the box that push_cert uses for temporaries while it may raise. */
enum { SLOT_TMP = 2, SLOT_GENS = 3 };

static void *hold(box *b, int slot, void *p, freer f)
{
    b->p[slot] = p;
    b->f[slot] = f;
    return p;
}

/* Never prompt for a pass phrase: encrypted keys simply fail to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

static int fail(lua_State *L, const char *msg)
{
    ERR_clear_error();
    lua_pushnil(L);
    lua_pushstring(L, msg);
    return 2;
}

static BIO *mem_bio(lua_State *L, int idx, box *b, int slot)
{
    size_t len;
    const char *s = luaL_checklstring(L, idx, &len);
    if (len > 1024 * 1024)
        return NULL;
    BIO *bio = BIO_new_mem_buf(s, (int)len);
    b->p[slot] = bio;
    b->f[slot] = free_bio;
    return bio;
}

static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static void push_time(lua_State *L, const ASN1_TIME *t, const char *field)
{
    struct tm tm;
    if (t && ASN1_TIME_to_tm(t, &tm) == 1) {
        long long days = days_from_civil(tm.tm_year + 1900LL, (unsigned)tm.tm_mon + 1,
                                         (unsigned)tm.tm_mday);
        lua_pushinteger(L, (lua_Integer)(days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 +
                                         tm.tm_sec));
        lua_setfield(L, -2, field);
    }
}

/* Pushes the name as an RFC 2253 string with UTF-8 left as is. */
static void push_name(lua_State *L, box *b, const X509_NAME *name, const char *field)
{
    BIO *out = hold(b, SLOT_TMP, BIO_new(BIO_s_mem()), free_bio);
    char *data;
    long len;
    if (!out)
        return;
    if (X509_NAME_print_ex(out, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
        (len = BIO_get_mem_data(out, &data)) >= 0) {
        lua_pushlstring(L, data, (size_t)len);
        lua_setfield(L, -2, field);
    }
    box_release(b, SLOT_TMP);
}

static void push_common_name(lua_State *L, box *b, const X509_NAME *name)
{
    int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    unsigned char *utf8 = NULL;
    int len;
    if (i < 0)
        return;
    len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (len < 0)
        return;
    hold(b, SLOT_TMP, utf8, free_mem);
    lua_pushlstring(L, (const char *)utf8, (size_t)len);
    lua_setfield(L, -2, "common_name");
    box_release(b, SLOT_TMP);
}

static void push_ip(lua_State *L, const unsigned char *p, int len)
{
    char buf[64];
    if (len == 4) {
        snprintf(buf, sizeof buf, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
    } else if (len == 16) {
        int o = 0;
        for (int i = 0; i < 16; i += 2)
            o += snprintf(buf + o, sizeof buf - (size_t)o, i ? ":%x" : "%x", (p[i] << 8) | p[i + 1]);
    } else {
        buf[0] = '\0';
    }
    lua_pushstring(L, buf);
}

static void push_sans(lua_State *L, box *b, X509 *x)
{
    GENERAL_NAMES *gens = hold(b, SLOT_GENS, X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL),
                               free_gens);
    int n = gens ? sk_GENERAL_NAME_num(gens) : 0, k = 0;
    lua_createtable(L, n, 0);
    lua_createtable(L, 0, 0);
    for (int i = 0; i < n; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS) {
            const ASN1_STRING *s = g->d.dNSName;
            lua_pushlstring(L, (const char *)ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
            lua_rawseti(L, -3, ++k);
        } else if (g->type == GEN_IPADD) {
            push_ip(L, ASN1_STRING_get0_data(g->d.iPAddress), ASN1_STRING_length(g->d.iPAddress));
            lua_rawseti(L, -2, (int)tcssl_rawlen(L, -2) + 1);
        }
    }
    box_release(b, SLOT_GENS);
    lua_setfield(L, -3, "ip_addresses");
    lua_setfield(L, -2, "dns_names");
}

static void push_key_info(lua_State *L, EVP_PKEY *pk)
{
    const char *type = "unknown";
    switch (EVP_PKEY_get_base_id(pk)) {
    case EVP_PKEY_RSA:
        type = "RSA";
        break;
    case EVP_PKEY_EC:
        type = "EC";
        break;
    case EVP_PKEY_ED25519:
        type = "ED25519";
        break;
    case EVP_PKEY_ED448:
        type = "ED448";
        break;
    case EVP_PKEY_DSA:
        type = "DSA";
        break;
    default:
        break;
    }
    lua_pushstring(L, type);
    lua_setfield(L, -2, "key_type");
    lua_pushinteger(L, EVP_PKEY_get_bits(pk));
    lua_setfield(L, -2, "key_bits");
}

/* The lowercase hex digest of the certificate's DER encoding, as field `field`. */
static void push_fingerprint(lua_State *L, X509 *x, const EVP_MD *md_type, const char *field)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE];
    if (X509_digest(x, md_type, md, &mdlen) != 1)
        return;
    tc_hex(md, mdlen, hex);
    lua_pushlstring(L, hex, 2 * mdlen);
    lua_setfield(L, -2, field);
}

static void push_cert(lua_State *L, box *b, X509 *x)
{
    lua_newtable(L);
    push_name(L, b, X509_get_subject_name(x), "subject");
    push_name(L, b, X509_get_issuer_name(x), "issuer");
    push_common_name(L, b, X509_get_subject_name(x));
    push_sans(L, b, x);
    push_time(L, X509_get0_notBefore(x), "not_before");
    push_time(L, X509_get0_notAfter(x), "not_after");
    push_fingerprint(L, x, EVP_sha256(), "sha256");
    push_fingerprint(L, x, EVP_sha1(), "sha1"); /* what the API calls CertFingerprint */
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *serial = hold(b, SLOT_TMP, bn ? BN_bn2hex(bn) : NULL, free_mem);
    BN_free(bn);
    if (serial) {
        lua_pushstring(L, serial);
        lua_setfield(L, -2, "serial");
    }
    box_release(b, SLOT_TMP);
    lua_pushboolean(L, (X509_get_extension_flags(x) & EXFLAG_CA) != 0);
    lua_setfield(L, -2, "is_ca");
    lua_pushboolean(L, X509_check_issued(x, x) == X509_V_OK);
    lua_setfield(L, -2, "self_issued");
    EVP_PKEY *pk = X509_get0_pubkey(x);
    if (pk)
        push_key_info(L, pk);
}

/* x509_parse(pem) -> { cert, ... } (in the order given) | nil, message */
static int l_x509_parse(lua_State *L)
{
    box *b = new_box(L);
    BIO *bio = mem_bio(L, 1, b, 0);
    int n = 0;
    if (!bio)
        return fail(L, "certificate text too large or out of memory");
    lua_newtable(L);
    for (;;) {
        X509 *x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
        if (!x) {
            unsigned long e = ERR_peek_last_error();
            if (n > 0 && ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
                break;
            return fail(L, n == 0 && ERR_GET_REASON(e) == PEM_R_NO_START_LINE
                               ? "no PEM certificate found"
                               : "cannot parse PEM certificate");
        }
        b->p[1] = x;
        b->f[1] = free_x509;
        if (++n > MAX_CHAIN)
            return fail(L, "too many certificates");
        push_cert(L, b, x);
        lua_rawseti(L, -2, n);
        box_release(b, 1);
    }
    ERR_clear_error();
    box_release(b, 0);
    return 1;
}

static EVP_PKEY *read_key(lua_State *L, int idx, box *b, int bio_slot, int key_slot)
{
    BIO *bio = mem_bio(L, idx, b, bio_slot);
    EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    b->p[key_slot] = pk;
    b->f[key_slot] = free_pkey;
    return pk;
}

/* private_key_info(pem) -> { key_type, key_bits } | nil, message */
static int l_private_key_info(lua_State *L)
{
    box *b = new_box(L);
    EVP_PKEY *pk = read_key(L, 1, b, 0, 1);
    if (!pk)
        return fail(L, "cannot parse PEM private key (encrypted keys are not supported)");
    lua_newtable(L);
    push_key_info(L, pk);
    box_release(b, 1);
    box_release(b, 0);
    ERR_clear_error();
    return 1;
}

/* key_matches(cert_pem, key_pem) -> boolean | nil, message (uses the first certificate) */
static int l_key_matches(lua_State *L)
{
    box *b = new_box(L);
    BIO *bio = mem_bio(L, 1, b, 0);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, no_passphrase, NULL) : NULL;
    b->p[1] = x;
    b->f[1] = free_x509;
    if (!x)
        return fail(L, "cannot parse PEM certificate");
    EVP_PKEY *pk = read_key(L, 2, b, 2, 3);
    if (!pk)
        return fail(L, "cannot parse PEM private key (encrypted keys are not supported)");
    int eq = EVP_PKEY_eq(X509_get0_pubkey(x), pk);
    for (int i = 0; i < BOX_SLOTS; i++)
        box_release(b, i);
    ERR_clear_error();
    lua_pushboolean(L, eq == 1);
    return 1;
}

static const luaL_Reg x509_funcs[] = {{"x509_parse", l_x509_parse},
                                      {"private_key_info", l_private_key_info},
                                      {"key_matches", l_key_matches},
                                      {NULL, NULL}};

void tcssl_open_x509(lua_State *L)
{
    luaL_setfuncs(L, x509_funcs, 0);
}
