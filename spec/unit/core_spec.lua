-- tcssl.core signing against independent oracles: the known-answer vectors computed with the
-- official Node.js SDK (../shared/test-vectors.md), the worked v3 example in the API documents,
-- and the openssl command line for random payloads; and the numbers the core takes (limits, sizes,
-- times), range-checked before it makes integers of them.
-- luacheck: read globals math.type math.mininteger (Lua 5.4's, used where the runtime has them)
local core = require "tcssl.core"
local certs = require "tcssl.certs"
local util = require "spec.support.util"

local ID = "AKIDTESTTESTTESTTESTTESTTESTTESTTEST"
local KEY = "testsecretkeytestsecretkeytestse"

local function vector(t)
  t.secret_id, t.secret_key = ID, KEY
  t.service, t.host, t.timestamp = "ssl", "ssl.tencentcloudapi.com", 1700000000
  return core.tc3_sign(t)
end

describe("tcssl.core TC3-HMAC-SHA256", function()
  it("reproduces the POST JSON vector, Authorization and all", function()
    local auth, sig = vector{ method = "POST", query = "", content_type = "application/json",
      payload = '{"Offset":0,"Limit":10,"SearchKey":"bench-example.com"}' }
    assert.equal("a5f300555556de63c93d607bd21e1cbb3e2f650f66d1f7c3614016614715d754", sig)
    assert.equal("TC3-HMAC-SHA256 Credential=AKIDTESTTESTTESTTESTTESTTESTTESTTEST/2023-11-14/ssl/"
      .. "tc3_request, SignedHeaders=content-type;host, Signature=" .. sig, auth)
  end)

  it("reproduces the non-ASCII POST vector", function()
    local _, sig = vector{ method = "POST", query = "", content_type = "application/json",
      payload = '{"Alias":"证书 ✓","CertificateId":"abc"}' }
    assert.equal("ae01dad1b9c25000bafd776a0d2402eafeded33b3dc0c163b3eb1d05255a073d", sig)
  end)

  it("reproduces the GET vector", function()
    local _, sig = vector{ method = "GET", query = "Limit=10&Offset=0&SearchKey=bench-example.com",
      content_type = "application/x-www-form-urlencoded", payload = "" }
    assert.equal("a44a31665401740995ee10fa7a7a0be9fe288d0e406ac632a05b9ddc10c9e253", sig)
  end)

  describe("the documents' worked example", function()
    local payload = [[{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}]]
    local function unhex(h) return (h:gsub("..", function(b) return string.char(tonumber(b, 16)) end)) end

    it("hashes the payload", function()
      assert.equal("35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064",
        core.sha256_hex(payload))
    end)

    it("builds the canonical request (extra signed header, lowercased value)", function()
      local _, _, request_hash = core.tc3_sign{ secret_id = "AKID", secret_key = "masked",
        service = "cvm", host = "cvm.tencentcloudapi.com", method = "POST", query = "",
        content_type = "application/json; charset=utf-8", payload = payload, timestamp = 1551113065,
        headers = { ["X-TC-Action"] = "DescribeInstances" } }
      assert.equal("7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84", request_hash)
    end)

    it("derives SecretService, SecretSigning and the signature from SecretDate", function()
      local date_key = unhex("da98fb70dcf6b112dc21038d1eeeb3a95c74b4dcb12c1131f864f6066bd02be0")
      local service_key = core.hmac("sha256", date_key, "cvm")
      assert.equal("8d70cbefb03939f929db64d32dc2ba89b1095620119fe3e050e2b18c5bd2752f", core.hex(service_key))
      local signing_key = core.hmac("sha256", service_key, "tc3_request")
      assert.equal("b596b923aad85185e2d1f6659d2a062e0a86731226e021e61bfe06f7ed05f5af", core.hex(signing_key))
      local sts = "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
        .. "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84"
      assert.equal("10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f",
        core.hmac("sha256", signing_key, sts, "hex"))
    end)

    it("takes the credential date in UTC, not local time", function()
      assert.equal("2019-02-25", core.utc_date(1551113065))
      assert.equal("1970-01-01", core.utc_date(0))
      assert.equal("2000-02-29", core.utc_date(951782400))
      assert.equal("2023-11-14", core.utc_date(1700000000))
    end)
  end)

  it("builds the canonical request right when it is too long for the stack buffer", function()
    for _, qlen in ipairs{ 10, 1900, 2100, 40000 } do
      local query = "Q=" .. string.rep("a", qlen)
      local long = string.rep("V", math.floor(qlen / 2))
      local extra = { ["X-TC-Action"] = "DescribeCertificates", ["X-Long"] = "  " .. long .. " " }
      local _, sig, request_hash = core.tc3_sign{ secret_id = ID, secret_key = KEY, service = "ssl",
        host = "Ssl.TencentCloudAPI.com", method = "GET", query = query,
        content_type = "application/x-www-form-urlencoded", payload = "", timestamp = 1700000000, headers = extra }
      local canonical = table.concat({ "GET", "/", query, "content-type:application/x-www-form-urlencoded",
        "host:ssl.tencentcloudapi.com", "x-long:" .. long:lower(), "x-tc-action:describecertificates",
        "", "content-type;host;x-long;x-tc-action", core.sha256_hex("") }, "\n")
      assert.equal(core.sha256_hex(canonical), request_hash, qlen)
      local sts = "TC3-HMAC-SHA256\n1700000000\n2023-11-14/ssl/tc3_request\n" .. request_hash
      assert.equal(core.hmac("sha256", core.tc3_derive(KEY, "2023-11-14", "ssl"), sts, "hex"), sig)
    end
  end)

  it("gives the same signature from the cache as from a fresh derivation", function()
    local t = { method = "POST", query = "", content_type = "application/json", payload = "{}" }
    local _, first = vector(t)
    -- push the entry out of the small cache with other keys, then sign again
    for i = 1, 8 do
      core.tc3_sign{ secret_id = ID, secret_key = KEY .. i, service = "ssl", host = "h", method = "POST",
        query = "", content_type = "application/json", payload = "{}", timestamp = 1700000000 }
    end
    local _, again = vector(t)
    local _, cached = vector(t)
    assert.equal(first, again)
    assert.equal(first, cached)
    local derived = core.tc3_derive(KEY, "2023-11-14", "ssl")
    assert.equal(32, #derived)
    assert.equal(derived, core.tc3_derive(KEY, "2023-11-14", "ssl"))
  end)

  it("rejects duplicate signed headers and bad fields with a Lua error (programming mistakes)", function()
    local t = { secret_id = ID, secret_key = KEY, service = "ssl", host = "h", method = "POST", query = "",
      content_type = "application/json", payload = "{}", timestamp = 1700000000,
      headers = { ["Content-Type"] = "x" } }
    assert.has_error(function() core.tc3_sign(t) end)
    t.headers = nil
    t.payload = nil
    assert.has_error(function() core.tc3_sign(t) end)
  end)
end)

describe("tcssl.core v1 signing", function()
  local base = "GETssl.tencentcloudapi.com/?Action=DescribeCertificates&Limit=10&Nonce=11886&SecretId="
    .. ID .. "&SignatureMethod=%s&Timestamp=1700000000&Version=2019-12-05"
  it("reproduces the HmacSHA256 vector", function()
    assert.equal("F9lqrrKMeXFjJkyeeoLjxnCHBgwmarZG0tD0I19SmJQ=",
      core.v1_sign("HmacSHA256", KEY, base:format("HmacSHA256")))
  end)
  it("reproduces the HmacSHA1 vector", function()
    assert.equal("qXtCGCQbYPs8nkAjgwBQgZBKd90=", core.v1_sign("HmacSHA1", KEY, base:format("HmacSHA1")))
  end)
end)

describe("tcssl.core primitives", function()
  it("hashes the empty string", function()
    assert.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", core.sha256_hex(""))
    assert.equal(32, #core.sha256("abc"))
  end)

  it("computes the RFC 4231 and RFC 2202 HMAC test cases", function()
    local key = string.rep("\11", 20)
    assert.equal("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
      core.hmac("sha256", key, "Hi There", "hex"))
    assert.equal("b617318655057264e28bc0b6fb378c8ef146be00", core.hmac("sha1", key, "Hi There", "hex"))
    assert.equal("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      core.hmac("sha256", "Jefe", "what do ya want for nothing?", "hex"))
    assert.equal(core.base64(core.hmac("sha1", "k", "m")), core.hmac("sha1", "k", "m", "base64"))
  end)

  it("round-trips base64 and refuses bad input without raising", function()
    for _, s in ipairs{ "", "f", "fo", "foo", "foob", "fooba", "foobar", "\0\255\1" } do
      assert.equal(s, core.unbase64(core.base64(s)))
    end
    assert.equal("Zm9vYmFy", core.base64("foobar"))
    assert.equal("foobar", core.unbase64("Zm9v\r\nYmFy\n"))
    for _, bad in ipairs{ "Zm9", "Zm9v=", "Z===", "Zm9v!", "Zg==Zg==" } do
      local v, err = core.unbase64(bad)
      assert.is_nil(v)
      assert.is_string(err)
    end
  end)
end)

describe("tcssl.core against the openssl command line", function()
  it("fingerprints certificates as `openssl x509 -fingerprint` does", function()
    local dir = util.temp_dir("core")
    assert(os.execute(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
      .. "-subj /CN=fp.example -keyout %s/k.pem -out %s/c.pem 2>/dev/null"):format(dir, dir)))
    local pem = assert(io.open(dir .. "/c.pem")):read("a")
    local info = assert(core.x509_parse(pem))[1]
    for _, alg in ipairs{ "sha1", "sha256" } do
      local p = assert(io.popen(("openssl x509 -noout -fingerprint -%s -in %s/c.pem"):format(alg, dir)))
      local want = p:read("a"):match("=([%x:]+)"):gsub(":", ""):lower()
      p:close()
      assert.equal(want, info[alg])
    end
    util.remove_dir(dir)
  end)

  local function openssl_hmac(hexkey, data)
    local path = util.tmpfile(data)
    local p = assert(io.popen("openssl dgst -sha256 -mac HMAC -macopt hexkey:" .. hexkey .. " " .. path))
    local out = p:read("a"); p:close(); os.remove(path)
    return out:match("= (%x+)")
  end

  it("agrees on random payloads with non-ASCII bytes, chain and all", function()
    math.randomseed(20261125)
    local alphabet = { "a", "Z", "0", " ", "\"", "\\", "\n", "证", "书", "✓", "é", "\u{1F512}", "{", "}" }
    for _ = 1, 4 do
      local parts = {}
      for i = 1, math.random(1, 200) do parts[i] = alphabet[math.random(#alphabet)] end
      local payload = table.concat(parts)
      local ts = math.random(1500000000, 1900000000)
      local _, sig, request_hash = core.tc3_sign{ secret_id = ID, secret_key = KEY, service = "ssl",
        host = "ssl.tencentcloudapi.com", method = "POST", query = "", content_type = "application/json",
        payload = payload, timestamp = ts }
      local canonical = table.concat({ "POST", "/", "", "content-type:application/json",
        "host:ssl.tencentcloudapi.com", "", "content-type;host", core.sha256_hex(payload) }, "\n")
      assert.equal(core.sha256_hex(canonical), request_hash)
      local date = os.date("!%Y-%m-%d", ts)
      local k = core.hex("TC3" .. KEY)
      k = openssl_hmac(k, date)
      k = openssl_hmac(k, "ssl")
      k = openssl_hmac(k, "tc3_request")
      local sts = ("TC3-HMAC-SHA256\n%d\n%s/ssl/tc3_request\n%s"):format(ts, date, request_hash)
      assert.equal(openssl_hmac(k, sts), sig)
    end
  end)
end)

describe("tcssl.core.json_decode", function()
  local null = require("cjson").null
  local ARR = {}

  it("builds the final shape: nulls dropped, integers, arrays marked with the given table", function()
    local t = assert(core.json_decode('{"a":[1.0,2.5,null,{"b":null,"c":3}],"d":null,"e":{"f":[[]]}}',
      null, ARR))
    assert.is_nil(t.d)
    assert.is_nil(getmetatable(t))
    assert.equal(ARR, getmetatable(t.a))
    assert.equal(1, t.a[1])
    assert.equal(2.5, t.a[2])
    assert.is_nil(t.a[3])
    assert.same({ c = 3 }, t.a[4])
    assert.equal(ARR, getmetatable(t.e.f[1]))
    if math.type then
      assert.equal("integer", math.type(t.a[1]))
      assert.equal("float", math.type(t.a[2]))
    end
  end)

  it("returns the given null for a top-level null, and nil with a position on bad text", function()
    assert.equal(null, core.json_decode(" null ", null, ARR))
    local v, err = core.json_decode("[1,,2]", null, ARR)
    assert.is_nil(v)
    assert.equal("expected a value at byte 4", err)
  end)

  it("raises only on wrong arguments", function()
    assert.is_false(pcall(core.json_decode, {}, null, ARR))
    assert.is_false(pcall(core.json_decode, "1", null, "x"))
  end)
end)

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
