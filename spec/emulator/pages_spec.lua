-- tcssl.pages against the emulator: every certificate of a search, a page at a time.
local pages = require "tcssl.pages"

local function ids(items)
  local out = {}
  for i, item in ipairs(items) do out[i] = item.CertificateId end
  return out
end

describe("pages from the emulator", function()
  local emu = require "spec.support.emulator"
  local tcssl = require "tcssl"
  local certgen = require "spec.support.certgen"
  local ID, KEY = "AKIDPAGESSPEC0000000000000000000000", "pages-spec-secret-key-0000000000"

  it("lists 25 certificates in pages of 10", function()
    local server = emu.start{ keys = { [ID] = { secret_key = KEY } } }
    finally(function() server:stop() end)
    local calls = 0
    local client = assert(tcssl.new{ endpoint = server.host, scheme = "http", secret_id = ID, secret_key = KEY,
      timeout = 10, on_request = function() calls = calls + 1 end, rate_limit = false })
    local leaf = certgen.leaf{ cn = "paged.example.com" }
    local uploaded = {}
    for i = 1, 25 do
      uploaded[assert(client:UploadCertificate{ CertificatePublicKey = leaf.cert_pem,
        CertificatePrivateKey = leaf.key_pem,
        Alias = "n" .. i, Repeatable = true }).CertificateId] = true
    end
    calls = 0
    local all, total = assert(pages.all(client, "DescribeCertificates", { SearchKey = "paged" }, { page_size = 10 }))
    assert.equal(25, total)
    assert.equal(3, calls)
    local distinct = {}
    for _, id in ipairs(ids(all)) do
      assert.is_true(uploaded[id])
      distinct[id] = true
    end
    local n = 0
    for _ in pairs(distinct) do n = n + 1 end
    assert.equal(25, n)
  end)
end)
