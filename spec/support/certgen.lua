--- Certificates made on the spot for the helper and flow specs (lua-luaossl, EC P-256 keys so
-- they are quick to make):
--   local certgen = require "spec.support.certgen"
--   local ca = certgen.ca("tcssl test root")
--   local mid = certgen.ca("tcssl test intermediate", ca)
--   local leaf = certgen.leaf{ cn = "shop.example.com", sans = { "shop.example.com" }, issuer = mid, days = 60 }
--   leaf.cert_pem, leaf.key_pem, leaf.fullchain (leaf + issuers), leaf.sha256
local pkey = require "openssl.pkey"
local x509 = require "openssl.x509"
local name = require "openssl.x509.name"
local altname = require "openssl.x509.altname"
local extension = require "openssl.x509.extension"
local bignum = require "openssl.bignum"
local core = require "tcssl.core"

local M = {}

local serial = 0

local function x509_name(cn)
  local n = name.new()
  n:add("O", "tcssl specs")
  n:add("CN", cn)
  return n
end

local function make(spec)
  serial = serial + 1
  local key = spec.key or pkey.new{ type = "EC", curve = "prime256v1" }
  local now = os.time()
  local crt = x509.new()
  crt:setVersion(3)
  crt:setSerial(bignum.new(now * 1000 + serial))
  crt:setSubject(x509_name(spec.cn))
  crt:setIssuer(spec.issuer and spec.issuer.cert:getSubject() or x509_name(spec.cn))
  local not_before = spec.not_before or now - 3600
  crt:setLifetime(not_before, spec.not_after or (not_before + (spec.days or 90) * 86400))
  crt:setPublicKey(key)
  crt:setBasicConstraints{ CA = spec.ca or false }
  crt:setBasicConstraintsCritical(true)
  if spec.ca then
    crt:addExtension(extension.new("keyUsage", "critical,keyCertSign,cRLSign"))
  elseif spec.sans then
    local alt = altname.new()
    for _, dns in ipairs(spec.sans) do alt:add("DNS", dns) end
    crt:setSubjectAlt(alt)
  end
  crt:sign(spec.issuer and spec.issuer.key or key)
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
