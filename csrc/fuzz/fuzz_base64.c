/* libFuzzer target: the strict base64 decoder, and encoder round trips. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *out = malloc(3 * (size / 4) + 3);
    char *enc = malloc(4 * ((size + 2) / 3) + 1);
    unsigned char *back = malloc(size + 3);
    if (!out || !enc || !back)
        goto done;
    long n = tc_unbase64((const char *)data, size, out);
    if (n > (long)(3 * (size / 4) + 3))
        __builtin_trap();
    /* anything encoded decodes to itself */
    size_t e = tc_base64(data, size, enc);
    long m = tc_unbase64(enc, e, back);
    if (m != (long)size || memcmp(back, data, size) != 0)
        __builtin_trap();
done:
    free(out);
    free(enc);
    free(back);
    return 0;
}
