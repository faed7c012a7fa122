/* libFuzzer target: core.json_decode (csrc/json.c) over any bytes. It returns a value or
 * nil, message and never raises on bad text, so a Lua error is a finding; a decoded value is
 * walked once, so every table it built is read. The same text is read again under a plan that
 * names every kind (and contains itself), which must fail or succeed alike. A decoded value is
 * written back by core.json_encode (csrc/json_write.c), whose text must read again (or, for
 * an infinity such as 1e400, be refused with a message). */
#include "lua_harness.h"

static const char SCRIPT[] =
    "local core, data = ...\n"
    "local null, mt = {}, {}\n"
    "local v, err = core.json_decode(data, null, mt)\n"
    "local P = { '\\1\\2\\3\\4\\5\\9\\13\\12', false, 's', 'b', 'i', 'f', 'o', 'a', 'ao', 'af' }\n"
    "P[2] = { [5] = P, [7] = P }\n"
    "local v2, checked = core.json_decode(data, null, mt, core.json_plan({ '\\5', { P }, 'Response' }))\n"
    "assert((v == nil) == (v2 == nil))\n"
    "if v == nil then assert(type(err) == 'string' and err:find('at byte %d+$') and checked == err) return end\n"
    "assert(type(checked) == 'boolean' or (type(checked) == 'table' and #checked % 5 == 0))\n"
    "local function walk(t, depth)\n"
    "  assert(depth <= 1001)\n"
    "  for _, x in pairs(t) do\n"
    "    if type(x) == 'table' and x ~= null then walk(x, depth + 1) end\n"
    "  end\n"
    "end\n"
    "if type(v) == 'table' and v ~= null then walk(v, 1) end\n"
    "local text, msg = core.json_encode(v, null, mt, {})\n"
    "if text then assert(core.json_decode(text, null, mt) ~= nil, text)\n"
    "else assert(type(msg) == 'string' and msg:find('NaN or infinity'), msg) end\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return run_core_script(SCRIPT, sizeof SCRIPT - 1, data, size);
}
