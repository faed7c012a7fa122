--- Certificates made on the spot for the helper and flow specs (lua-luaossl, EC P-256 keys so
-- they are quick to make):
--   local certgen = require "spec.support.certgen"
--   local ca = certgen.ca("tcssl test root")
--   local mid = certgen.ca("tcssl test intermediate", ca)
--   local leaf = certgen.leaf{ cn = "shop.example.com", sans = { "shop.example.com" }, issuer = mid, days = 60 }
--   leaf.cert_pem, leaf.key_pem, leaf.fullchain (leaf + issuers), leaf.sha256
local pkey = require "openssl.pkey"
local mint = require "tcssl_emulator.mint"
local core = require "tcssl.core"

local M = {}

local function make(spec)
  local key = spec.key or pkey.new{ type = "EC", curve = "prime256v1" }
  local not_before = spec.not_before or os.time() - 3600
  local crt = mint.certificate{
    org = "tcssl specs", cn = spec.cn, key = key, ca = spec.ca,
    issuer_cert = spec.issuer and spec.issuer.cert, issuer_key = spec.issuer and spec.issuer.key,
    dns = not spec.ca and spec.sans or nil,
    not_before = not_before, not_after = spec.not_after or (not_before + (spec.days or 90) * 86400),
  }
  local out = { cert = crt, key = key, cert_pem = crt:toPEM(), key_pem = key:toPEM("private"), issuer = spec.issuer }
  out.sha256 = core.x509_parse(out.cert_pem)[1].sha256
  local chain, node = { out.cert_pem }, spec.issuer
  while node do
    chain[#chain + 1] = node.cert_pem
    node = node.issuer
  end
  out.fullchain = table.concat(chain)
  out.chain = table.concat(chain, "", 2)
  return out
end

function M.ca(cn, issuer)
  return make{ cn = cn, ca = true, issuer = issuer, days = 3650 }
end

function M.leaf(spec)
  spec.sans = spec.sans or { spec.cn }
  return make(spec)
end

return M
