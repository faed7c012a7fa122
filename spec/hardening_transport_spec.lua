-- Hardening of the libcurl transport and the core (issue 14): numbers are range-checked before
-- the core makes integers of them. The hostile servers are spec/support/rawhttp.lua processes.
local core = require "tcssl.core"
local certs = require "tcssl.certs"
local rawhttp = require "spec.support.rawhttp"

describe("tcssl.core checks numbers before it makes integers of them", function()
  local not_integers = { 0 / 0, -(0 / 0), math.huge, -math.huge, 1e300, -1e300 }

  it("core.session takes no options, nil or a table", function()
    for _, s in ipairs{ core.session(), core.session(nil), core.session{} } do
      assert.truthy(tostring(s):find("open", 1, true))
      s:close()
    end
    assert.has_error(function() core.session("x") end)
  end)

  it("core.session refuses a max_response_size out of range with an argument error", function()
    for _, v in ipairs(not_integers) do
      assert.error_matches(function() core.session{ max_response_size = v } end,
        "bad argument #1 to '[%w.]*session' %(max_response_size must be a number of bytes from 1 to 4294967295%)")
    end
    for _, v in ipairs{ 0, 0.5, 2 ^ 32, "1000" } do
      assert.has_error(function() core.session{ max_response_size = v } end)
    end
    core.session{ max_response_size = 4294967295 }:close()
  end)

  it("session:request takes any timeout number: unusable ones are refused, huge ones capped", function()
    local srv = rawhttp.start("act_reset")
    local s = core.session()
    local function req(t, ct)
      return s:request{ method = "POST", url = "http://" .. srv.host .. "/", body = "{}", timeout = t,
        connect_timeout = ct, headers = { ["X-TC-Action"] = "DescribeCertificates" } }
    end
    for _, v in ipairs{ 0 / 0, -math.huge, -1e300, 0 } do
      for _, pair in ipairs{ { v, nil }, { nil, v } } do
        local status, err = req(pair[1], pair[2])
        assert.is_nil(status)
        assert.equal("BadRequest", err.code)
      end
    end
    for _, v in ipairs{ math.huge, 1e300 } do
      assert.equal(200, (req(v, v)))
    end
    s:close()
    srv:stop()
  end)

  it("core.unzip refuses limits that are not numbers it can use", function()
    local zip = assert(core.zip({ { name = "a", data = "b" } }))
    for _, field in ipairs{ "max_entries", "max_bytes" } do
      for _, v in ipairs(not_integers) do
        local ok, msg = pcall(core.unzip, zip, { [field] = v })
        assert.is_false(ok)
        assert.truthy(msg:find("bad argument #2", 1, true), msg)
        assert.truthy(msg:find(field .. " must be a number from 1 to", 1, true), msg)
      end
    end
    assert.equal(1, #assert(core.unzip(zip, { max_entries = 1.5, max_bytes = 1e6 })))
  end)

  it("certs.unzip and certs.download turn bad limits into an error object", function()
    local zip = assert(core.zip({ { name = "a", data = "b" } }))
    local files, err = certs.unzip(zip, { max_bytes = 0 / 0 })
    assert.is_nil(files)
    assert.equal("validation", err.kind)
    assert.equal("InvalidArgument", err.code)
    assert.truthy(err.message:find("max_bytes", 1, true))
    local fake = { call = function() end }
    function fake.DownloadCertificate()
      return { Content = core.base64(zip), ContentType = "application/zip", RequestId = "r" }
    end
    local out
    out, err = certs.download(fake, "cert1", { limits = { max_entries = math.huge } })
    assert.is_nil(out)
    assert.equal("InvalidArgument", err.code)
    assert.truthy(err.message:find("max_entries", 1, true))
  end)

  it("core.zip refuses an mtime out of range with an argument error", function()
    local files = { { name = "a", data = "b" } }
    for _, v in ipairs{ 0 / 0, math.huge, -math.huge, 1e300, 0, 5e9 } do
      assert.error_matches(function() core.zip(files, { mtime = v }) end,
        "bad argument #2 to '[%w.]*zip' %(mtime must be a Unix time from 1980 to 2099%)")
    end
    assert.is_string(core.zip(files, { mtime = 1704067200.5 }))
  end)
end)
