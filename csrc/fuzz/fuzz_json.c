/* libFuzzer target: core.json_decode (csrc/json.c) over any bytes. It returns a value or
 * nil, message and never raises on bad text, so a Lua error is a finding; a decoded value is
 * walked once, so every table it built is read. */
#include "lua_harness.h"

static const char SCRIPT[] =
    "local core, data = ...\n"
    "local null, mt = {}, {}\n"
    "local v, err = core.json_decode(data, null, mt)\n"
    "if v == nil then assert(type(err) == 'string' and err:find('at byte %d+$')) return end\n"
    "local function walk(t, depth)\n"
    "  assert(depth <= 1001)\n"
    "  for _, x in pairs(t) do\n"
    "    if type(x) == 'table' and x ~= null then walk(x, depth + 1) end\n"
    "  end\n"
    "end\n"
    "if type(v) == 'table' and v ~= null then walk(v, 1) end\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return run_core_script(SCRIPT, sizeof SCRIPT - 1, data, size);
}
