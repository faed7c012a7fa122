-- Making X.509 certificates with lua-luaossl, for the emulator's own CA and the free
-- certificates it issues, and for the specs' test PKI. Only from values the caller chose,
-- never from bytes received: lua-luaossl is not trusted with hostile input.
local M = {}

local serial = 0

--- certificate(spec) -> a signed openssl.x509 object. spec:
--   cn, org (subject O, default "tcssl"), key (openssl.pkey), ca (boolean),
--   issuer_cert, issuer_key (absent: self-signed), dns, ip (subjectAltName lists),
--   not_before, not_after (Unix; default now - 1 h .. now + 30 days), serial.
function M.certificate(spec)
  local x509 = require "openssl.x509"
  local extension = require "openssl.x509.extension"
  local function subject(cn)
    local n = require("openssl.x509.name").new()
    n:add("O", spec.org or "tcssl")
    n:add("CN", cn)
    return n
  end
  serial = serial + 1
  local now = os.time()
  local crt = x509.new()
  crt:setVersion(3)
  crt:setSerial(require("openssl.bignum").new(spec.serial or now * 1000 + serial))
  crt:setSubject(subject(spec.cn))
  crt:setIssuer(spec.issuer_cert and spec.issuer_cert:getSubject() or subject(spec.cn))
  crt:setLifetime(spec.not_before or now - 3600, spec.not_after or now + 30 * 86400)
  crt:setPublicKey(spec.key)
  crt:setBasicConstraints{ CA = spec.ca or false }
  crt:setBasicConstraintsCritical(true)
  if spec.ca then
    crt:addExtension(extension.new("keyUsage", "critical,keyCertSign,cRLSign"))
  else
    crt:addExtension(extension.new("keyUsage", "critical,digitalSignature,keyEncipherment"))
    crt:addExtension(extension.new("extendedKeyUsage", "serverAuth"))
  end
  crt:addExtension(extension.new("subjectKeyIdentifier", "hash", { subject = crt }))
  if spec.issuer_cert then
    crt:addExtension(extension.new("authorityKeyIdentifier", "keyid:always", { issuer = spec.issuer_cert }))
  end
  if spec.dns or spec.ip then
    local alt = require("openssl.x509.altname").new()
    for _, dns in ipairs(spec.dns or {}) do alt:add("DNS", dns) end
    for _, ip in ipairs(spec.ip or {}) do alt:add("IP", ip) end
    crt:setSubjectAlt(alt)
  end
  crt:sign(spec.issuer_key or spec.key)
  return crt
end

return M
