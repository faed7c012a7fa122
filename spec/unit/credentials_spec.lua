-- Credential providers against fakes: environment, profile files, the CVM metadata service, STS
-- (AssumeRole and AssumeRoleWithWebIdentity), the default chain, refresh, and what tcssl writes.
local tcssl = require "tcssl"
local credentials = require "tcssl.credentials"
local json = require "tcssl.json"
local fakes = require "spec.support.fakes"
local util = require "spec.support.util"

local KEY = "credentials-spec-secret-key-000"
local TMP_KEY = "credentials-spec-temporary-key-111"
local TOKEN = "credentials-spec-session-token-222"

local env, tmpfile = fakes.getenv, util.tmpfile

-- A transport answering by URL pattern; it records each request and can yield mid-request.
local fake = fakes.router

local function metadata_doc(expires, fields)
  local doc = { Code = "Success", TmpSecretId = "AKIDTEMPORARY", TmpSecretKey = TMP_KEY, Token = TOKEN,
    ExpiredTime = expires, Expiration = "2030-01-01T00:00:00Z" }
  for k, v in pairs(fields or {}) do doc[k] = v end
  return json.encode(doc)
end

describe("static and environment credentials", function()
  it("reads the three environment variables", function()
    local p = credentials.environment{ getenv = env{ TENCENTCLOUD_SECRET_ID = "AKIDENV",
      TENCENTCLOUD_SECRET_KEY = KEY, TENCENTCLOUD_SESSION_TOKEN = TOKEN } }
    local c = assert(p.get())
    assert.same({ secret_id = "AKIDENV", secret_key = KEY, token = TOKEN }, c)
  end)

  it("says which variables are missing", function()
    local c, err = credentials.environment{ getenv = env{ TENCENTCLOUD_SECRET_ID = "AKIDENV" } }.get()
    assert.is_nil(c)
    assert.equal("credentials", err.kind)
    assert.truthy(err.message:find("TENCENTCLOUD_SECRET_KEY", 1, true))
  end)

  it("takes the region from TENCENTCLOUD_REGION", function()
    local client = assert(tcssl.new{ secret_id = "a", secret_key = KEY,
      getenv = env{ TENCENTCLOUD_REGION = "ap-beijing" } })
    assert.equal("ap-beijing", client.config.region)
  end)
end)

describe("profile files", function()
  it("reads [default] and a named profile, with quotes, comments and CRLF", function()
    local path = tmpfile('# comment\r\n[default]\r\nsecret_id = "AKIDPROFILE"\r\nsecret_key = ' .. KEY
      .. '\r\n\r\n[ci]\nsecret_id=AKIDCI\nsecret_key=' .. KEY .. '\ntoken=' .. TOKEN .. '\n')
    local c = assert(credentials.profile{ paths = { path } }.get())
    assert.equal("AKIDPROFILE", c.secret_id)
    assert.equal(KEY, c.secret_key)
    c = assert(credentials.profile{ paths = { path }, profile = "ci" }.get())
    assert.equal("AKIDCI", c.secret_id)
    assert.equal(TOKEN, c.token)
    os.remove(path)
  end)

  -- A fresh home directory whose ~/.tencentcloud/credentials holds text; util.remove_dir removes it.
  local function home_with(text)
    local home = util.temp_dir("home")
    assert(util.sh("mkdir " .. util.quote(home .. "/.tencentcloud")) == 0)
    util.write(home .. "/.tencentcloud/credentials", text)
    return home
  end

  it("looks in ~/.tencentcloud/credentials, then /etc/tencentcloud/credentials", function()
    local home = home_with("[default]\nsecret_id = AKIDHOME\nsecret_key = " .. KEY .. "\n")
    local c = assert(credentials.profile{ getenv = env{ HOME = home } }.get())
    assert.equal("AKIDHOME", c.secret_id)
    util.remove_dir(home)
  end)

  it("is the only source when a client names a profile, even with keys in the environment", function()
    local home = home_with("[prof1]\nsecret_id = AKIDPROFILEONE\nsecret_key = " .. KEY .. "\n")
    local getenv = env{ HOME = home, TENCENTCLOUD_SECRET_ID = "AKIDFROMENV", TENCENTCLOUD_SECRET_KEY = KEY }
    local c = assert(tcssl.new{ profile = "prof1", getenv = getenv })
    assert.equal("AKIDPROFILEONE", assert(c.credentials.get()).secret_id)
    -- a profile that is not there is an error, not the environment's keys
    c = assert(tcssl.new{ profile = "nope", getenv = getenv })
    local creds, err = c.credentials.get()
    assert.is_nil(creds)
    assert.equal("credentials", err.kind)
    assert.truthy(err.message:find("[nope]", 1, true))
    -- without a profile the environment comes first, as in the official SDKs
    assert.equal("AKIDFROMENV", assert(assert(tcssl.new{ getenv = getenv }).credentials.get()).secret_id)
    util.remove_dir(home)
  end)

  it("looks only in /etc/tencentcloud/credentials when HOME is not set, without raising", function()
    for _, home in ipairs{ false, "" } do
      local ok, c, err = pcall(credentials.profile{ getenv = env{ HOME = home or nil } }.get)
      assert.is_true(ok, c)
      if not c then
        assert.equal("credentials", err.kind)
        assert.truthy(err.message:find("/etc/tencentcloud/credentials", 1, true))
        assert.is_nil(err.message:find(".tencentcloud/credentials or", 1, true))
      end
    end
  end)

  it("gives clear errors for malformed and unreadable files, without the secret", function()
    local cases = {
      { "secret_id = x\n", "ProfileMalformed", "section" },
      { "[default]\nsecret_id AKID\n", "ProfileMalformed", "line 2" },
      { "[other]\nsecret_id = a\nsecret_key = " .. KEY .. "\n", "ProfileMalformed", "[default]" },
      { "[default]\nsecret_id = AKID\n", "ProfileMalformed", "secret_key" },
    }
    for _, case in ipairs(cases) do
      local path = tmpfile(case[1])
      local c, err = credentials.profile{ paths = { path } }.get()
      assert.is_nil(c)
      assert.equal(case[2], err.code)
      assert.truthy(err.message:find(case[3], 1, true), err.message)
      assert.falsy(err.message:find(KEY, 1, true))
      os.remove(path)
    end
    local dir = util.temp_dir("profile")
    local c, err = credentials.profile{ paths = { dir } }.get()
    assert.is_nil(c)
    assert.equal("ProfileUnreadable", err.code)
    util.remove_dir(dir)
    c, err = credentials.profile{ paths = { "/nonexistent/credentials" } }.get()
    assert.is_nil(c)
    assert.equal("NoCredentials", err.code)
  end)
end)

describe("CVM instance role", function()
  local BASE = "http://127.0.0.1:9/latest/meta-data/"

  it("asks for the role name, then its credentials, and caches them until near expiry", function()
    local now = 1000
    local t = fake{
      { "security%-credentials/$", { 200, "tcssl-role\n", ctype = "text/plain" } },
      { "security%-credentials/tcssl%-role$", function() return { 200, metadata_doc(now + 3600) } end },
    }
    local p = credentials.cvm_role{ metadata_url = BASE, transport = t, clock = function() return now end }
    local c = assert(p.get())
    assert.equal("AKIDTEMPORARY", c.secret_id)
    assert.equal(TOKEN, c.token)
    assert.equal(2, #t.sent)
    now = now + 3000 -- still more than the margin before expiry
    assert(p.get())
    assert.equal(2, #t.sent)
    now = now + 400 -- within the margin: refresh (the role name is remembered)
    assert(p.get())
    assert.equal(3, #t.sent)
  end)

  it("reports malformed answers from the metadata service", function()
    local cases = {
      { { "/$", { 404, "not found", ctype = "text/plain" } } },
      { { "/$", { 200, "", ctype = "text/plain" } } },
      { { "/$", { 200, "role" } }, { "role$", { 200, "{not json" } } },
      { { "/$", { 200, "role" } }, { "role$", { 200, metadata_doc(5000, { Code = "Failure" }) } } },
      { { "/$", { 200, "role" } }, { "role$", { 200, metadata_doc(5000, { TmpSecretKey = json.null }) } } },
      { { "/$", { 200, "role" } }, { "role$", { 200, "[]" } } },
      {},
    }
    for i, routes in ipairs(cases) do
      local p = credentials.cvm_role{ metadata_url = BASE, transport = fake(routes), clock = function() return 0 end }
      local c, err = p.get()
      assert.is_nil(c, "case " .. i)
      assert.equal("credentials", err.kind)
      assert.equal("MetadataError", err.code)
      assert.falsy(err.message:find(TMP_KEY, 1, true))
    end
  end)

  it("refreshes once when several coroutines ask at the same time", function()
    local t = fake({
      { "/$", { 200, "role" } },
      { "role$", { 200, metadata_doc(100000) } },
    }, { yield = true })
    local p = credentials.cvm_role{ metadata_url = BASE, transport = t, clock = function() return 0 end }
    local workers, results = {}, {}
    for i = 1, 5 do
      workers[i] = coroutine.create(function() results[i] = p.get() end)
    end
    -- run them round-robin until all are done (bounded)
    for _ = 1, 100 do
      local alive = false
      for _, co in ipairs(workers) do
        if coroutine.status(co) ~= "dead" then
          alive = true
          assert(coroutine.resume(co))
        end
      end
      if not alive then break end
    end
    for i = 1, 5 do assert.equal("AKIDTEMPORARY", results[i].secret_id) end
    assert.equal(2, #t.sent) -- one role-name request, one credentials request
  end)
end)

describe("STS", function()
  local function sts_answer(expires, fields)
    local r = { Credentials = { TmpSecretId = "AKIDSTS", TmpSecretKey = TMP_KEY, Token = TOKEN },
      ExpiredTime = expires, Expiration = "2030-01-01T00:00:00Z", RequestId = "sts-1" }
    for k, v in pairs(fields or {}) do r[k] = v end
    return json.encode{ Response = r }
  end

  it("AssumeRole signs with the long-term key and refreshes near expiry", function()
    local now = 1700000000
    local t = fake{ { "^https://sts%.tencentcloudapi%.com/", function(_, headers, body)
      assert.equal("AssumeRole", headers["X-TC-Action"])
      assert.equal("2018-08-13", headers["X-TC-Version"])
      assert.truthy(headers.Authorization:find("/sts/tc3_request", 1, true))
      local p = json.decode(body)
      assert.equal("qcs::cam::uin/1:roleName/r", p.RoleArn)
      return { 200, sts_answer(now + 7200) }
    end } }
    local p = credentials.assume_role{ secret_id = "AKIDLONG", secret_key = KEY,
      role_arn = "qcs::cam::uin/1:roleName/r", transport = t, clock = function() return now end }
    local c = assert(p.get())
    assert.equal("AKIDSTS", c.secret_id)
    assert.equal(TOKEN, c.token)
    now = now + 7000
    assert(p.get())
    assert.equal(2, #t.sent)
  end)

  it("AssumeRoleWithWebIdentity sends the token file unsigned, as TKE does", function()
    local token_file = tmpfile("web-identity-token\n")
    local t = fake{ { "sts", function(_, headers, body)
      assert.equal("SKIP", headers.Authorization)
      assert.equal("AssumeRoleWithWebIdentity", headers["X-TC-Action"])
      assert.equal("ap-shanghai", headers["X-TC-Region"])
      local p = json.decode(body)
      assert.equal("web-identity-token", p.WebIdentityToken)
      assert.equal("provider-1", p.ProviderId)
      return { 200, sts_answer(1700007200) }
    end } }
    local p = credentials.tke_oidc{ transport = t, clock = function() return 1700000000 end,
      getenv = env{ TKE_REGION = "ap-shanghai", TKE_PROVIDER_ID = "provider-1",
        TKE_WEB_IDENTITY_TOKEN_FILE = token_file, TKE_ROLE_ARN = "qcs::cam::uin/1:roleName/r" } }
    local c = assert(p.get())
    assert.equal("AKIDSTS", c.secret_id)
    os.remove(token_file)
  end)

  it("reports STS errors and malformed answers", function()
    local answers = {
      { 200, '{"Response":{"Error":{"Code":"InvalidParameter.WebIdentityTokenError","Message":"bad"},'
        .. '"RequestId":"x"}}' },
      { 200, sts_answer(1700007200, { Credentials = json.null }) },
      { 200, sts_answer(json.null, { Expiration = json.null }) },
      { 502, "<html>bad gateway</html>", ctype = "text/html" },
    }
    for i, a in ipairs(answers) do
      local p = credentials.assume_role{ secret_id = "AKIDLONG", secret_key = KEY, role_arn = "arn",
        transport = fake{ { "sts", a } }, clock = function() return 1700000000 end }
      local c, err = p.get()
      assert.is_nil(c, "case " .. i)
      assert.equal("credentials", err.kind)
      assert.equal("STSError", err.code)
      assert.falsy(err.message:find(KEY, 1, true))
    end
    local _, err = credentials.tke_oidc{ getenv = env{ TKE_REGION = "r", TKE_PROVIDER_ID = "p",
      TKE_WEB_IDENTITY_TOKEN_FILE = "/nonexistent/token", TKE_ROLE_ARN = "a" } }.get()
    assert.equal("TokenFileUnreadable", err.code)
  end)
end)

describe("the default chain", function()
  it("goes environment, profile, CVM role, OIDC, and stops at the first that answers", function()
    local path = tmpfile("[default]\nsecret_id = AKIDPROFILE\nsecret_key = " .. KEY .. "\n")
    local t = fake{ { "/$", { 200, "role" } }, { "role$", { 200, metadata_doc(2000000000) } } }
    local function chain(vars, paths)
      return credentials.default{ getenv = env(vars), profile_paths = paths, metadata_url = "http://127.0.0.1:9/",
        transport = t, clock = function() return 0 end }
    end
    local p = chain({ TENCENTCLOUD_SECRET_ID = "AKIDENV", TENCENTCLOUD_SECRET_KEY = KEY }, { path })
    assert.equal("AKIDENV", assert(p.get()).secret_id)
    assert.equal("environment", p.source)
    p = chain({}, { path })
    assert.equal("AKIDPROFILE", assert(p.get()).secret_id)
    assert.equal("profile", p.source)
    p = chain({}, { "/nonexistent" })
    assert.equal("AKIDTEMPORARY", assert(p.get()).secret_id)
    assert.equal("cvm_role", p.source)
    os.remove(path)
  end)

  it("explains every provider it tried when none answers", function()
    local p = credentials.default{ getenv = env{}, profile_paths = { "/nonexistent/credentials" },
      metadata_url = "http://127.0.0.1:9/", transport = fake{}, clock = function() return 0 end }
    local c, err = p.get()
    assert.is_nil(c)
    assert.equal("NoCredentials", err.code)
    assert.truthy(err.message:find("environment: TENCENTCLOUD_SECRET_ID", 1, true))
    assert.truthy(err.message:find("profile: no credentials file at /nonexistent/credentials", 1, true))
    assert.truthy(err.message:find("cvm_role: CVM role", 1, true))
    assert.truthy(err.message:find("oidc: not set: TKE_REGION", 1, true))
  end)
end)

describe("what tcssl writes", function()
  it("never shows keys or tokens: tostring, errors, the debug hook", function()
    local lines = {}
    local t = fake{
      { "/$", { 200, "role" } }, { "role$", { 200, metadata_doc(2000000000) } },
      { "ssl", { 200, '{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"no"},'
        .. '"RequestId":"q"}}' } },
    }
    local client = assert(tcssl.new{ credentials = credentials.cvm_role{ metadata_url = "http://127.0.0.1:9/",
      transport = t, clock = function() return 0 end }, transport = t,
      on_request = function(info) for k, v in pairs(info) do lines[#lines + 1] = k .. "=" .. tostring(v) end end })
    local _, err = client:DescribeCertificates{}
    local v1 = assert(tcssl.new{ secret_id = "AKIDV1", secret_key = KEY, token = TOKEN, sign_method = "HmacSHA1",
      http_method = "GET", transport = t, on_request = function(info) lines[#lines + 1] = info.url end })
    v1:DescribeCertificates{}
    local out = table.concat(lines, "\n") .. tostring(client) .. tostring(err) .. tostring(client.credentials)
      .. tostring(v1)
    for _, secret in ipairs{ KEY, TMP_KEY, TOKEN } do
      assert.falsy(out:find(secret, 1, true), secret)
    end
    assert.truthy(out:find("Signature=***", 1, true))
    assert.truthy(out:find("credentials=cvm_role", 1, true))
  end)

  it("writes one redacted line per call with debug = true", function()
    local written = {}
    local file = { write = function(_, ...) for _, s in ipairs{ ... } do written[#written + 1] = s end end }
    local client_mod = require "tcssl.client"
    local hook = client_mod.debug_writer(file)
    local t = fake{ { "ssl", { 200, '{"Response":{"RequestId":"req-42"}}' } } }
    local c = assert(tcssl.new{ secret_id = "AKIDDEBUG", secret_key = KEY, token = TOKEN, sign_method = "HmacSHA256",
      http_method = "GET", transport = t, on_request = hook })
    assert(c:DescribeCertificates{})
    local line = table.concat(written)
    assert.truthy(line:find("^tcssl: DescribeCertificates GET https://ssl.tencentcloudapi.com/%?"))
    assert.truthy(line:find("RequestId=req-42", 1, true))
    assert.truthy(line:find("attempts=1", 1, true))
    assert.falsy(line:find(KEY, 1, true))
    assert.falsy(line:find(TOKEN, 1, true))
    assert.truthy(tcssl.new{ secret_id = "a", secret_key = KEY, debug = true }.on_request)
  end)
end)
