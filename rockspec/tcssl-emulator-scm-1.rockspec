rockspec_format = "3.0"
package = "tcssl-emulator"
version = "scm-1"
source = {
  url = "git+file://.",
}
description = {
  summary = "A local, stateful stand-in for the Tencent Cloud SSL Certificates API, for offline tests",
  detailed = [[
tcssl-emulator serves API 3.0 (2019-12-05) and the legacy 2017 API on a loopback port: it checks
TC3 and v1 signatures and every parameter against tcssl's model, keeps certificates in memory,
plays cloud resources, deployments and free certificates, STS and the CVM metadata service, and
injects faults on request. It is a server with dependencies of its own (LuaSocket, LuaSec,
luaossl) beside the tcssl client, whose core and model it uses. Run `tcssl-emulator --help`.
]],
  homepage = "https://tcssl.invalid/",
  license = "MIT",
}
dependencies = {
  "lua >= 5.3", -- integers: the emulator itself runs under Lua 5.3/5.4 (clients may be LuaJIT)
  "tcssl",
  "luasocket",
  "luasec",
  "luaossl",
}
-- From a clone: `make all test-lua54` builds the core in place and runs the busted specs
-- (spec/unit, spec/emulator) against it.
test = {
  type = "command",
  command = "make --no-print-directory all test-lua54",
}
build = {
  type = "builtin",
  modules = {
    ["tcssl_emulator"] = "lua/tcssl_emulator/init.lua",
    ["tcssl_emulator.actions"] = "lua/tcssl_emulator/actions.lua",
    ["tcssl_emulator.api"] = "lua/tcssl_emulator/api.lua",
    ["tcssl_emulator.certificates"] = "lua/tcssl_emulator/certificates.lua",
    ["tcssl_emulator.cli"] = "lua/tcssl_emulator/cli.lua",
    ["tcssl_emulator.cloud"] = "lua/tcssl_emulator/cloud.lua",
    ["tcssl_emulator.control"] = "lua/tcssl_emulator/control.lua",
    ["tcssl_emulator.errors"] = "lua/tcssl_emulator/errors.lua",
    ["tcssl_emulator.faults"] = "lua/tcssl_emulator/faults.lua",
    ["tcssl_emulator.http"] = "lua/tcssl_emulator/http.lua",
    ["tcssl_emulator.issuer"] = "lua/tcssl_emulator/issuer.lua",
    ["tcssl_emulator.legacy"] = "lua/tcssl_emulator/legacy.lua",
    ["tcssl_emulator.messages"] = "lua/tcssl_emulator/messages.lua",
    ["tcssl_emulator.mint"] = "lua/tcssl_emulator/mint.lua",
    ["tcssl_emulator.params"] = "lua/tcssl_emulator/params.lua",
    ["tcssl_emulator.pem"] = "lua/tcssl_emulator/pem.lua",
    ["tcssl_emulator.server"] = "lua/tcssl_emulator/server.lua",
    ["tcssl_emulator.signature"] = "lua/tcssl_emulator/signature.lua",
    ["tcssl_emulator.store"] = "lua/tcssl_emulator/store.lua",
    ["tcssl_emulator.synth"] = "lua/tcssl_emulator/synth.lua",
    ["tcssl_emulator.tasks"] = "lua/tcssl_emulator/tasks.lua",
    ["tcssl_emulator.views"] = "lua/tcssl_emulator/views.lua",
  },
  install = {
    bin = { ["tcssl-emulator"] = "bin/tcssl-emulator" },
  },
}
