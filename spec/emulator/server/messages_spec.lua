-- Error messages in the requested language: X-TC-Language (TC3) or Language (v1) zh-CN gives
-- the documents' Chinese description of the code, en-US (and no Language) the English one, or
-- the only one the documents give, followed by the emulator's own explanation; another value
-- is refused with InvalidParameterValue. The texts are tools/gen-messages.lua's, checked here
-- against the documents themselves.
local cjson = require "cjson.safe"
local emu = require "spec.support.emulator"
local wire = require "spec.support.wire"
local seeds = require "spec.support.seeds"
local errors = require "tcssl_emulator.errors"
local messages = require "tcssl_emulator.messages"

local connect, decode, error_code = wire.connect, wire.decode, wire.error_code

local read = require("spec.support.util").must_read

-- A line of a document, found whole (the oracle: the documents' own text, not the generator's).
local function document_line(name, line)
  local path = seeds.path(name)
  if not path then return nil end
  for l in read(path):gmatch("[^\n]+") do
    if l:match("^%s*(.-)%s*$") == line then return line end
  end
  error(name .. " has no line " .. line)
end

describe("tcssl emulator error texts (tcssl_emulator.messages)", function()
  it("are what tools/gen-messages.lua makes of the documents today", function()
    local path = seeds.path(seeds.SEED)
    if not path then
      pending("the documents are not on this machine")
      return
    end
    local out = os.tmpname()
    local dir = path:match("^(.*)/[^/]*$")
    local ok = os.execute("lua5.4 tools/gen-messages.lua " .. dir .. " " .. out .. " 2>/dev/null")
    local fresh = read(out)
    os.remove(out)
    assert.truthy(ok)
    assert.equals(read("lua/tcssl_emulator/messages.lua"), fresh, "regenerate: lua5.4 tools/gen-messages.lua")
  end)

  it("describe every code the emulator raises, in the documents' words", function()
    local raised = {}
    for _, name in ipairs({ "api", "certificates", "cloud", "issuer", "legacy", "params", "pem", "signature",
      "store", "tasks" }) do
      local text = read("lua/tcssl_emulator/" .. name .. ".lua")
      for code in text:gmatch('raise%("([%w%.]+)"') do raised[code] = true end
    end
    local n = 0
    for code in pairs(raised) do
      n = n + 1
      assert.is_string(errors.documented(code, "zh-CN"), code)
      assert.is_string(errors.documented(code, "en-US"), code)
    end
    assert.is_true(n > 20)
  end)

  it("match the documents' tables (the oracle)", function()
    local cases = {
      { "004_6ca79b59cc431531.txt", "AuthFailure.SignatureFailure 签名错误。签名计算错误，请对照调用方式中的签名方法文档检查签名计算过程。",
        "zh-CN" },
      { "004_6ca79b59cc431531.txt", "FailedOperation.CertificateNotFound 证书不存在。", "zh-CN" },
      { "004_6ca79b59cc431531.txt", "MissingParameter 缺少参数。", "zh-CN" },
      { "000_3ef53e309de0b559.txt", "FailedOperation.CertificateNotFound The certificate does not exist.", "en-US" },
      { "001_e3e1bf3bae7ff0f4.txt",
        "FailedOperation.CertificateMismatch | The certificate and the private key do not match. |", "en-US" },
    }
    for _, case in ipairs(cases) do
      local line = document_line(case[1], case[2])
      if line then
        local code, text = line:match("^(%S+)%s+|?%s*(.-)%s*|?$")
        assert.equals(text, messages[code][case[3]], code)
      end
    end
    -- a code the documents describe once: its one text in both languages
    assert.equals("缺少参数。", errors.documented("MissingParameter", "en-US"))
    -- a code they do not list takes its top-level code's text
    assert.equals(messages.InvalidParameter["zh-CN"], errors.documented("InvalidParameter.NotInTheDocuments", "zh-CN"))
  end)
end)

describe("tcssl emulator errors in the requested language", function()
  local e, c
  local SIGNATURE_EN = "The provided credentials could not be validated. Please check your signature is correct."

  setup(function() e = emu.start{ keys = wire.KEYS } end)
  teardown(function() emu.cleanup(e) end)
  before_each(function() c = connect(e) end)
  after_each(function() if c then c:close() end end)

  local function tc3(action, params, language, o)
    local body = cjson.encode(params or {})
    local headers = wire.tc3_headers(c.host, action, body, o)
    headers["X-TC-Language"] = language
    return decode(assert(c:request("POST", "/", headers, body)))
  end

  local function v1(action, params, o)
    return decode(assert(c:request("GET", "/?" .. wire.v1_params(c.host, action, params, o), { Host = c.host })))
  end

  it("answers a refused TC3 signature in the documents' words of each language", function()
    -- the oracle: the documents' error example, and their table of common codes
    local example = document_line("004_6ca79b59cc431531.txt", '"Message": "' .. SIGNATURE_EN .. '"')
    local zh_row = document_line("004_6ca79b59cc431531.txt",
      "AuthFailure.SignatureFailure 签名错误。签名计算错误，请对照调用方式中的签名方法文档检查签名计算过程。")
    local en = example and example:match('"Message": "(.*)"') or SIGNATURE_EN
    local zh = zh_row and zh_row:match("^%S+ (.*)$") or messages["AuthFailure.SignatureFailure"]["zh-CN"]
    for _, case in ipairs({ { "en-US", en }, { nil, en }, { "zh-CN", zh } }) do
      local r = tc3("DescribeCertificates", {}, case[1], { key = "a-wrong-key" })
      assert.equals("AuthFailure.SignatureFailure", error_code(r))
      assert.equals(case[2], r.Error.Message, tostring(case[1]))
    end
  end)

  it("gives the Chinese text alone in zh-CN and adds the emulator's account in en-US", function()
    local r = tc3("DescribeCertificateDetail", { CertificateId = "nosuchid" }, "zh-CN")
    assert.equals("FailedOperation.CertificateNotFound", error_code(r))
    assert.equals("证书不存在。", r.Error.Message)
    r = tc3("DescribeCertificateDetail", { CertificateId = "nosuchid" }, "en-US")
    assert.equals("The certificate does not exist. The certificate `nosuchid` does not exist.", r.Error.Message)
    -- a code with only a Chinese description: that text, then the English account
    r = tc3("DescribeCertificateDetail", {}, "en-US")
    assert.equals("MissingParameter", error_code(r))
    assert.equals("缺少参数。 missing required parameter CertificateId (String)", r.Error.Message)
    r = tc3("DescribeCertificateDetail", {}, "zh-CN")
    assert.equals("缺少参数。", r.Error.Message)
  end)

  it("takes v1's Language parameter, for signature and other failures alike", function()
    local r = v1("DescribeCertificates", { Language = "zh-CN" }, { key = "a-wrong-key" })
    assert.equals("AuthFailure.SignatureFailure", error_code(r))
    assert.equals(messages["AuthFailure.SignatureFailure"]["zh-CN"], r.Error.Message)
    r = v1("DescribeCertificates", { Language = "en-US" }, { key = "a-wrong-key", signature_method = "HmacSHA256" })
    assert.equals(SIGNATURE_EN, r.Error.Message)
    r = v1("DescribeCertificateDetail", { Language = "zh-CN", CertificateId = "nosuchid" })
    assert.equals("证书不存在。", r.Error.Message)
    r = v1("DescribeCertificates", { Language = "zh-CN" }, { id = "AKIDUNKNOWN" })
    assert.equals("AuthFailure.SecretIdNotFound", error_code(r))
    assert.equals(messages["AuthFailure.SecretIdNotFound"]["zh-CN"], r.Error.Message)
  end)

  it("refuses a Language the documents do not list (zh-CN, en-US), in English", function()
    for _, value in ipairs({ "fr-FR", "zh-cn", "en" }) do
      local r = tc3("DescribeCertificates", {}, value)
      assert.equals("InvalidParameterValue", error_code(r), value)
      assert.equals("参数取值错误。 The parameter `Language` must be zh-CN or en-US.", r.Error.Message)
      r = v1("DescribeCertificates", { Language = value })
      assert.equals("InvalidParameterValue", error_code(r), value)
    end
    -- an empty value counts as none; a valid one leaves a good request alone
    assert.equals(0, tc3("DescribeCertificates", {}, "").TotalCount)
    assert.equals(0, tc3("DescribeCertificates", {}, "zh-CN").TotalCount)
    assert.equals(0, v1("DescribeCertificates", { Language = "en-US" }).TotalCount)
  end)
end)
