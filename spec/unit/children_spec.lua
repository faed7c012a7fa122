-- spec/support/children.lua, busted's helper in tools/run-specs and .busted, keeps `make test`
-- deterministic: programs started by the specs run without the sanitizer preload of
-- `make asan`, whatever suite runs them.
describe("programs started by the specs", function()
  it("do not inherit the AddressSanitizer preload or its options", function()
    local p = assert(io.popen('echo "${LD_PRELOAD:-none} ${ASAN_OPTIONS:-none} ${LSAN_OPTIONS:-none}"'))
    local out = p:read("a")
    p:close()
    assert.equal("none none none\n", out)
    local status = os.execute('test -z "${LD_PRELOAD:-}"')
    assert.truthy(status == true or status == 0) -- Lua 5.4 answers true, LuaJIT 0
  end)
end)
