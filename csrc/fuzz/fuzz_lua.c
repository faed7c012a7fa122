/* libFuzzer target: the certificate, key and base64 functions through tcssl.core's Lua API,
 * as the emulator and helpers call them with bytes from outside. Exercises the error paths and
 * the userdata that frees OpenSSL objects (LeakSanitizer reports anything left). */
#include "lua_harness.h"

static const char SCRIPT[] =
    "local core, data = ...\n"
    "local half = #data // 2\n"
    "local a, b = data:sub(1, half), data:sub(half + 1)\n"
    "core.x509_parse(data)\n"
    "core.private_key_info(data)\n"
    "core.key_matches(a, b)\n"
    "core.unbase64(data)\n"
    "core.v1_sign('HmacSHA1', a, b)\n"
    "core.hmac('sha256', b, a, 'base64')\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return run_core_script(SCRIPT, sizeof SCRIPT - 1, data, size);
}
