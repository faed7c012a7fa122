/* libFuzzer target: core.unzip through tcssl.core's Lua API, with archives from outside (a
 * DownloadCertificate Content, a download link's body). Bad archives must give nil, err,
 * never a crash, a leak (LeakSanitizer) or a raise; bounded limits must hold; whatever is
 * read must write back with core.zip and read back the same. */
#include "lua_harness.h"

static const char SCRIPT[] =
    "local core, data = ...\n"
    "local files = core.unzip(data)\n"
    "core.unzip(data, { max_entries = 2, max_bytes = 4096 })\n"
    "if files then\n"
    "  local total = 0\n"
    "  for _, f in ipairs(files) do total = total + #f.data end\n"
    "  assert(#files <= 1000 and total <= 64 * 1024 * 1024)\n"
    "  local again = core.zip(files, { mtime = 1704067200 })\n"
    "  if again then\n"
    "    local back = assert(core.unzip(again))\n"
    "    assert(#back == #files)\n"
    "    for i, f in ipairs(files) do assert(back[i].data == f.data) end\n"
    "  end\n"
    "end\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return run_core_script(SCRIPT, sizeof SCRIPT - 1, data, size);
}
