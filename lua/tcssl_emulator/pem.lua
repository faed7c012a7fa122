--- tcssl_emulator.pem: certificates and private keys sent in requests, read with OpenSSL
-- through tcssl.core, with the API's error codes. lua-luaossl reads freed memory on some
-- malformed input, so the emulator gives it nothing it received (see tcssl_emulator.mint).
local core = require "tcssl.core"
local errors = require "tcssl_emulator.errors"

local raise = errors.raise

local M = {}

local MAX_CHAIN = 10

--- key_algorithm(info) -> "RSA" | "ECC" | ..., and with the size ("RSA 2048"), of a parsed
-- certificate (tcssl.core.x509_parse).
function M.key_algorithm(info)
  local kind = info.key_type == "EC" and "ECC" or info.key_type
  return kind, kind .. " " .. tostring(info.key_bits)
end

--- certificate(text) -> the parsed leaf, the parsed chain (leaf first); raises the documented
-- codes for what is not a PEM certificate chain.
function M.certificate(text)
  if not text:find("-----BEGIN CERTIFICATE-----", 1, true) then
    raise("FailedOperation.CertificateInvalid", "The certificate content is not a PEM certificate.")
  end
  local chain, err = core.x509_parse(text)
  if not chain then
    raise("FailedOperation.CertificateParseError", "The certificate could not be parsed: " .. err .. ".")
  end
  if #chain > MAX_CHAIN then
    raise("FailedOperation.CertificateChainError", "The certificate chain is too long.")
  end
  return chain[1], chain
end

--- check_key(cert_pem, key_pem): raises unless key_pem is a readable, unencrypted private key
-- of the certificate.
function M.check_key(cert_pem, key_pem)
  if key_pem:find("ENCRYPTED", 1, true) or not core.private_key_info(key_pem) then
    raise("FailedOperation.CertificateParseError", "The private key could not be parsed.")
  end
  if not core.key_matches(cert_pem, key_pem) then
    raise("FailedOperation.CertificateMismatch", "The certificate and the private key do not match.")
  end
end

return M
