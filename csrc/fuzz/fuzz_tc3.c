/* libFuzzer target: TC3 signing with every input taken from the fuzzer's bytes (fields split
 * at 0xFF), and the derived-key cache under changing keys, dates and services. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../sign.h"

static tc_crypto *crypto;

static size_t next_field(const uint8_t *data, size_t size, size_t *pos, const char **field)
{
    size_t start = *pos, i = start;
    while (i < size && data[i] != 0xFF)
        i++;
    *field = (const char *)data + start;
    *pos = i < size ? i + 1 : size;
    return i - start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc3_input in;
    tc_header headers[TC_MAX_HEADERS];
    char sig[2 * TC_SHA256_LEN + 1], req[2 * TC_SHA256_LEN + 1], date[11];
    size_t pos = 0, n = 0;
    const char *ts_text;

    if (!crypto && !(crypto = tc_crypto_new()))
        return 0;
    memset(&in, 0, sizeof in);
    in.secret_key_len = next_field(data, size, &pos, &in.secret_key);
    in.service_len = next_field(data, size, &pos, &in.service);
    in.method_len = next_field(data, size, &pos, &in.method);
    in.query_len = next_field(data, size, &pos, &in.query);
    in.payload_len = next_field(data, size, &pos, &in.payload);
    size_t tl = next_field(data, size, &pos, &ts_text);
    long long ts = 0;
    for (size_t i = 0; i < tl && i < 12; i++)
        ts = ts * 10 + (ts_text[i] & 7);
    in.timestamp = ts;
    while (pos < size && n < TC_MAX_HEADERS) {
        headers[n].name_len = next_field(data, size, &pos, &headers[n].name);
        headers[n].value_len = next_field(data, size, &pos, &headers[n].value);
        n++;
    }
    in.headers = headers;
    in.n_headers = n;
    if (tc3_signature(crypto, &in, sig, req, date) == 0) {
        if (strlen(sig) != 2 * TC_SHA256_LEN || strlen(req) != 2 * TC_SHA256_LEN || strlen(date) != 10)
            __builtin_trap();
    }
    return 0;
}
