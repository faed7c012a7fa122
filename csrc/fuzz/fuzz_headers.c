/* libFuzzer target: the response header reader and the checks on headers tcssl sends. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../headers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    size_t pos = 0, total = 0;
    tc_span name, value;
    for (int i = 0; i < 100000 && tc_header_next(buf, size, &pos, &name, &value); i++) {
        /* spans must lie inside the input */
        if (name.p < buf || name.p + name.len > buf + size || value.p < buf ||
            value.p + value.len > buf + size || name.len == 0)
            __builtin_trap();
        total += name.len + value.len;
    }
    if (pos > size || total > size)
        __builtin_trap();
    (void)tc_is_token(buf, size);
    (void)tc_header_value_safe(buf, size);
    return 0;
}
