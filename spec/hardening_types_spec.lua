-- Issue 14, points 7 and 12: Integer parameters are exact integers in range or a validation
-- error; values in a response of another type than the model's give a protocol error.
local tcssl = require "tcssl"
local json = require "tcssl.json"
local schema = require "tcssl.schema"

local LUAJIT = jit ~= nil

-- A transport that records what it would send and answers with `body` (a string or a list of
-- them, one per request).
local function recorder(body)
  local t = { sent = {} }
  function t.request(_, method, url, headers, sent_body)
    t.sent[#t.sent + 1] = { method = method, url = url, headers = headers, body = sent_body }
    local answer = body or '{"Response":{"RequestId":"r-1"}}'
    if type(answer) == "table" then answer = answer[#t.sent] end
    return 200, { ["content-type"] = "application/json" }, answer
  end
  return t
end

local function client(extra, transport, legacy)
  local cfg = { secret_id = "AKIDTYPES", secret_key = "types-spec-key", transport = transport or recorder(),
    rate_limit = false }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  return assert((legacy and tcssl.legacy or tcssl.new)(cfg))
end

-- What one call sends: the POST body, or the query of a GET or legacy request.
local function sent(params, opts)
  opts = opts or {}
  local t = recorder(opts.legacy and '{"code":0,"message":"","codeDesc":"Success","data":{}}' or nil)
  local c = client({ http_method = opts.method }, t, opts.legacy)
  local res, err = c:call(opts.action or "DescribeCertificates", params)
  assert(res, err and tostring(err))
  local r = t.sent[1]
  return r.method == "POST" and not opts.legacy and r.body or (r.url .. "&" .. (r.body or ""))
end

-- A call that validation stops: nothing is sent, the error names the path.
local function rejected(params, path, opts)
  opts = opts or {}
  local t = recorder()
  local c = client({ http_method = opts.method }, t, opts.legacy)
  local res, err = c:call(opts.action or "DescribeCertificates", params)
  assert.is_nil(res)
  assert.equal("validation", err.kind)
  assert.equal("InvalidParameter", err.code)
  assert.equal(path, err.path)
  assert.truthy(err.message:find(path, 1, true))
  assert.equal(0, #t.sent, "nothing is sent when validation fails")
  return err
end

local EVERY_WAY = {
  { method = "POST" },
  { method = "GET" },
  { legacy = true, action = "CertGetList", name = "page" },
}

describe("Integer parameters (issue 14, point 7)", function()
  it("reject NaN, infinities, fractions and floats outside the int64 range, over POST, GET and v1", function()
    local bad = { 0 / 0, math.huge, -math.huge, 1.5, -0.25, 2 ^ 63, 2 ^ 64, 2 ^ 64 - 2 ^ 11, -2 ^ 64, 1e300 }
    for _, way in ipairs(EVERY_WAY) do
      local name = way.name or "Limit"
      for _, v in ipairs(bad) do
        local err = rejected({ [name] = v }, name, way)
        assert.truthy(err.message:find("must be an integer", 1, true))
      end
    end
    -- inside an array, with the element's index
    rejected({ CertificateStatus = { 1, 2 ^ 63 } }, "CertificateStatus[2]")
    rejected({ CertificateStatus = { 0 / 0 } }, "CertificateStatus[1]", { method = "GET" })
  end)

  it("say why a number is not an integer", function()
    assert.truthy(rejected({ Limit = 0 / 0 }, "Limit").message:find("not a finite number", 1, true))
    assert.truthy(rejected({ Limit = 2.5 }, "Limit").message:find("non-integral", 1, true))
    assert.truthy(rejected({ Limit = 2 ^ 63 }, "Limit").message:find("64-bit integer range", 1, true))
  end)

  it("send integral floats in range as integers, never in exponent form", function()
    for _, way in ipairs(EVERY_WAY) do
      local name = way.name or "Limit"
      local out = sent({ [name] = 10.0 }, way)
      assert.truthy(out:find(way.method == "POST" and '"' .. name .. '":10[,}]' or "[?&]" .. name .. "=10&"), out)
      assert.falsy(out:find("10.0", 1, true))
    end
    assert.truthy(sent{ CertificateStatus = { 1.0, 2 } }:find('"CertificateStatus":[1,2]', 1, true))
    assert.truthy(sent({ Limit = -0.0 }, { method = "GET" }):find("Limit=0&", 1, true))
  end)

  if LUAJIT then
    it("under LuaJIT take numbers up to 2^53 and larger values as decimal strings only", function()
      assert.truthy(sent{ Limit = 2 ^ 53 }:find('"Limit":9007199254740992', 1, true))
      assert.truthy(sent{ Limit = -2 ^ 53 }:find('"Limit":-9007199254740992', 1, true))
      for _, way in ipairs(EVERY_WAY) do
        local name = way.name or "Limit"
        for _, v in ipairs{ 2 ^ 53 + 2, 2 ^ 60, -2 ^ 63, 2 ^ 62 } do
          local err = rejected({ [name] = v }, name, way)
          assert.truthy(err.message:find("decimal string", 1, true))
        end
        local out = sent({ [name] = "-9223372036854775808" }, way)
        assert.truthy(out:find("-9223372036854775808", 1, true), out)
      end
    end)
  else
    it("under Lua 5.4 take integral floats over the whole int64 range, exactly", function()
      for _, way in ipairs(EVERY_WAY) do
        local name = way.name or "Limit"
        local out = sent({ [name] = 2.0 ^ 62 }, way)
        assert.truthy(out:find("4611686018427387904", 1, true), out)
        out = sent({ [name] = -2.0 ^ 63 }, way)
        assert.truthy(out:find("-9223372036854775808", 1, true), out)
        out = sent({ [name] = math.maxinteger }, way)
        assert.truthy(out:find("9223372036854775807", 1, true), out)
        assert.falsy(out:find("e+", 1, true))
      end
    end)
  end

  it("take a numeric string only beyond 2^53 and within int64, as before", function()
    rejected({ Limit = "10" }, "Limit")
    rejected({ Limit = "10.0" }, "Limit")
    rejected({ Limit = "9223372036854775808" }, "Limit")
    rejected({ page = "1" }, "page", { legacy = true, action = "CertGetList" })
    assert.truthy(sent{ Limit = "9007199254740993" }:find('"Limit":9007199254740993', 1, true))
  end)

  it("are checked by schema.check as well, for any caller", function()
    local action = schema.model().actions.DescribeCertificates
    local out, err = schema.check(action, { Limit = 2 ^ 63 })
    assert.is_nil(out)
    assert.equal("Limit", err.path)
    out = assert(schema.check(action, { Limit = 10.0 }))
    assert.equal(10, out.Limit)
    if math.type then assert.equal("integer", math.type(out.Limit)) end
    assert.equal('{"Limit":10}', json.encode(out))
  end)
end)
