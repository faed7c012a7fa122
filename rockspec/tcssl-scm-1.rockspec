rockspec_format = "3.0"
package = "tcssl"
version = "scm-1"
source = {
  url = "git+file://.",
}
description = {
  summary = "Client for the Tencent Cloud SSL Certificates API, with a C core for signing and HTTP",
  detailed = [[
tcssl calls every action of the Tencent Cloud SSL Certificates API (API 3.0, 2019-12-05) from Lua
5.4, LuaJIT and OpenResty. Signing (TC3-HMAC-SHA256 and v1) and HTTP (libcurl) are in a small C
core; everything else is Lua. It ships a local emulator for offline tests.
]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.1",
  "lua-cjson >= 2.1.0",
}
external_dependencies = {
  LIBCURL = { header = "curl/curl.h", library = "curl" },
  OPENSSL = { header = "openssl/evp.h", library = "crypto" },
  LIBZIP = { header = "zip.h", library = "zip" },
}
build = {
  type = "builtin",
  modules = {
    ["tcssl.core"] = {
      sources = { "csrc/core.c", "csrc/sign.c", "csrc/http.c", "csrc/x509.c", "csrc/headers.c", "csrc/zip.c", "csrc/tidy.c", "csrc/files.c" },
      defines = { 'TCSSL_VERSION="0.1.0"' },
      incdirs = { "$(LIBCURL_INCDIR)", "$(OPENSSL_INCDIR)", "$(LIBZIP_INCDIR)" },
      libdirs = { "$(LIBCURL_LIBDIR)", "$(OPENSSL_LIBDIR)", "$(LIBZIP_LIBDIR)" },
      libraries = { "curl", "crypto", "zip" },
    },
    ["tcssl"] = "lua/tcssl/init.lua",
    ["tcssl.client"] = "lua/tcssl/client.lua",
    ["tcssl.request"] = "lua/tcssl/request.lua",
    ["tcssl.error"] = "lua/tcssl/error.lua",
    ["tcssl.json"] = "lua/tcssl/json.lua",
    ["tcssl.schema"] = "lua/tcssl/schema.lua",
    ["tcssl.model"] = "lua/tcssl/model.lua",
    ["tcssl.model_docs"] = "lua/tcssl/model_docs.lua",
    ["tcssl.credentials"] = "lua/tcssl/credentials.lua",
    ["tcssl.emulator"] = "lua/tcssl/emulator.lua",
    ["tcssl.emulator.cloud"] = "lua/tcssl/emulator/cloud.lua",
    ["tcssl.emulator.mint"] = "lua/tcssl/emulator/mint.lua",
    ["tcssl.emulator.tasks"] = "lua/tcssl/emulator/tasks.lua",
    ["tcssl.emulator.issuer"] = "lua/tcssl/emulator/issuer.lua",
    ["tcssl.pages"] = "lua/tcssl/pages.lua",
    ["tcssl.waiters"] = "lua/tcssl/waiters.lua",
    ["tcssl.certs"] = "lua/tcssl/certs.lua",
    ["tcssl.flows"] = "lua/tcssl/flows.lua",
    ["tcssl.runtime"] = "lua/tcssl/runtime.lua",
    ["tcssl.log"] = "lua/tcssl/log.lua",
    ["tcssl.ratelimit"] = "lua/tcssl/ratelimit.lua",
    ["tcssl.shared"] = "lua/tcssl/shared.lua",
    ["tcssl.transport"] = "lua/tcssl/transport/init.lua",
    ["tcssl.transport.curl"] = "lua/tcssl/transport/curl.lua",
    ["tcssl.transport.ngx"] = "lua/tcssl/transport/ngx.lua",
  },
  install = {
    bin = { ["tcssl"] = "bin/tcssl", ["tcssl-emulator"] = "bin/tcssl-emulator" },
  },
}
