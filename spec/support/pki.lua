--- Test PKI for specs, made with lua-luaossl in a fresh temporary directory:
--   * ca_cert / ca_key: a test CA;
--   * server_cert / server_key: signed by it, for 127.0.0.1 and localhost (for HTTPS);
--   * leaf_cert / leaf_key: a self-signed certificate and its key (for UploadCertificate);
--   * other_key: an unrelated key (for the mismatch case).
-- Each is available as <name>_file (a path) and <name>_pem (the PEM text).
--
--   local pki = require "spec.support.pki"
--   local certs = pki.make()
--   certs.ca_cert_file, certs.leaf_cert_pem, ...
--   certs:cleanup()

local pkey = require "openssl.pkey"
local mint = require "tcssl_emulator.mint"
local util = require "spec.support.util"

local M = {}

-- Fixed validity of the leaf certificate, so specs can check the CST formatting:
-- 2024-01-01 00:00:00 UTC .. 2034-01-01 00:00:00 UTC.
M.LEAF_NOT_BEFORE = 1704067200
M.LEAF_NOT_AFTER = 2019686400
M.LEAF_CN = "upload.tcssl.test"
M.LEAF_SANS = { "upload.tcssl.test", "www.upload.tcssl.test" }

-- Builds and signs a certificate: see tcssl_emulator.mint for spec's fields.
local function certificate(spec)
  spec.org = "tcssl tests"
  return mint.certificate(spec)
end

local Pki = {}
Pki.__index = Pki

function Pki:cleanup()
  for _, file in ipairs(self.files) do os.remove(file) end
  os.remove(self.dir)
end

--- Creates the files; returns an object with <name>_file, <name>_pem and cleanup().
-- opts.server_dns replaces the server certificate's DNS names (default { "localhost" }).
function M.make(opts)
  local ca_key = pkey.new{ type = "EC", curve = "prime256v1" }
  local ca_cert = certificate{ cn = "tcssl test CA", key = ca_key, ca = true }
  local server_key = pkey.new{ type = "EC", curve = "prime256v1" }
  local server_cert = certificate{
    cn = "localhost", key = server_key, issuer_cert = ca_cert, issuer_key = ca_key,
    dns = opts and opts.server_dns or { "localhost" }, ip = { "127.0.0.1" },
  }
  local leaf_key = pkey.new{ type = "RSA", bits = 2048 }
  local leaf_cert = certificate{
    cn = M.LEAF_CN, key = leaf_key, dns = M.LEAF_SANS,
    not_before = M.LEAF_NOT_BEFORE, not_after = M.LEAF_NOT_AFTER,
  }
  local other_key = pkey.new{ type = "RSA", bits = 2048 }

  local pem = {
    ca_cert = ca_cert:toPEM(),
    ca_key = ca_key:toPEM("private"),
    server_cert = server_cert:toPEM(),
    server_key = server_key:toPEM("private"),
    leaf_cert = leaf_cert:toPEM(),
    leaf_key = leaf_key:toPEM("private"),
    other_key = other_key:toPEM("private"),
  }
  local p = setmetatable({ dir = util.temp_dir("pki"), files = {} }, Pki)
  for label, text in pairs(pem) do
    local path = p.dir .. "/" .. label:gsub("_", "-") .. ".pem"
    util.write(path, text)
    p[label .. "_file"], p[label .. "_pem"] = path, text
    p.files[#p.files + 1] = path
  end
  return p
end

return M
