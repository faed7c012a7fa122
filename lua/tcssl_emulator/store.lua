--- tcssl_emulator.store: everything one emulator holds, and the operations its parts share.
--
-- A server makes one store (store.new) and hands it to every part that answers a request:
-- each action handler gets it as its first argument. Every piece of state is declared here,
-- in new and reset, so this file is the list of what the emulator remembers:
--
--   keys           SecretId -> { secret_key, token, expires }: the accepted keys, and the
--                  temporary ones STS and the metadata service hand out (tcssl_emulator.cloud)
--   certs          CertificateId -> certificate record (uploaded, or an order of the issuer)
--   settings       how much "later" asynchronous work finishes (POST /__emulator/config)
--   clock_offset   seconds added to the clock (the `clock` fault; cleared with the faults)
--   nonces         v1 requests seen within the signature window (tcssl_emulator.signature)
--   resources, records, record_seq, update_pending
--                  cloud resources and deployment/update records (tcssl_emulator.tasks)
--   downloads      the links DescribeDownloadCertificateUrl handed out (tcssl_emulator.issuer)
--   ca             the issuer's certificate authority, made at first use; kept across resets
--
-- reset() empties all of it but the accepted keys given to new(), the CA and clock_offset
-- (POST /__emulator/reset-store; the server's reset_faults clears clock_offset).
local core = require "tcssl.core"
local schema = require "tcssl.schema"
local errors = require "tcssl_emulator.errors"

local raise = errors.raise
local concat = table.concat

local M = {
  DEMO_SECRET_ID = "AKIDEMULATOR",
  DEMO_SECRET_KEY = "tcssl-emulator-demo-secret-key-0",
  MAX_CERTIFICATES = 10000,
}

-- How much "later" the emulator's asynchronous work finishes (see tcssl_emulator.tasks and
-- tcssl_emulator.issuer); POST /__emulator/config changes them, /reset restores them.
M.SETTINGS = {
  task_polls = 2,             -- a deployment or update record finishes at its 2nd detail poll...
  task_seconds = 30,          -- ...or this long after it was created
  update_pending_calls = 1,   -- UpdateCertificateInstance answers DeployRecordId 0 this often first
  issue_polls = 2,            -- an order is issued at its 2nd DescribeCertificate(Detail) poll...
  issue_seconds = 30,         -- ...or this long after validation started
}
-- The range each setting may take.
M.SETTING_LIMITS = {
  task_polls = { 1, 1000 }, task_seconds = { 0, 86400 }, update_pending_calls = { 0, 1000 },
  issue_polls = { 1, 1000 }, issue_seconds = { 0, 86400 },
}

-- Certificate statuses by their English names (the model's CertificateStatus).
local CERT = schema.model().enums.CertificateStatus.codes

local Store = {}
Store.__index = Store

local function read_urandom(n)
  local f = io.open("/dev/urandom", "rb")
  if not f then return nil end
  local bytes = f:read(n)
  f:close()
  return bytes
end

local function normalize_keys(keys)
  local out = {}
  for id, key in pairs(keys) do
    if type(key) == "string" then key = { secret_key = key } end
    assert(type(id) == "string" and type(key) == "table" and type(key.secret_key) == "string",
      "keys must map SecretId to { secret_key = ..., token = ... }")
    out[id] = { secret_key = key.secret_key, token = key.token }
  end
  return out
end

--- new(opts) -> store. opts: keys (default: the demo key), clock (a function returning Unix
-- time), owner_uin, metadata_role, web_identity_token, settings (changes to M.SETTINGS).
-- Malformed keys or settings raise (they are the embedding program's mistake).
function M.new(opts)
  local self = setmetatable({}, Store)
  self.keys = normalize_keys(opts.keys or { [M.DEMO_SECRET_ID] = { secret_key = M.DEMO_SECRET_KEY } })
  self.clock = opts.clock or os.time
  self.owner_uin = opts.owner_uin or "100000000001"
  self.metadata_role = opts.metadata_role
  self.web_identity_token = opts.web_identity_token
  self.initial_settings = {}
  for k, v in pairs(M.SETTINGS) do self.initial_settings[k] = v end
  for k, v in pairs(opts.settings or {}) do
    assert(M.SETTING_LIMITS[k] and type(v) == "number", "unknown or malformed setting " .. tostring(k))
    self.initial_settings[k] = v
  end
  self.seed = (read_urandom(32) or "") .. tostring(self) .. tostring(core.monotonic()) .. tostring(os.clock())
  self.compare_key = core.sha256(self.seed .. "compare")
  self.counter = 0
  self.clock_offset = 0 -- the clock fault's shift: the server's reset_faults clears it
  self:reset()
  return self
end

function Store:reset()
  self.certs = {}
  self.settings = {}
  for k, v in pairs(self.initial_settings) do self.settings[k] = v end
  self.nonces, self.nonce_count = {}, 0
  self.resources, self.records, self.record_seq, self.update_pending = {}, {}, 0, {}
  self.downloads = {}
  for id, key in pairs(self.keys) do
    if key.expires then self.keys[id] = nil end -- temporary keys from STS or the metadata service
  end
end

--- The emulator's clock for signatures, Date headers and InsertTime (the clock fault shifts it).
function Store:now()
  return self.clock() + self.clock_offset
end

-------------------------------------------------------------------------------
-- Ids and random values: from a per-store seed, so that no two emulators hand out the same.
-------------------------------------------------------------------------------

function Store:next_seq()
  self.counter = self.counter + 1
  return self.counter
end

function Store:random_bytes(n)
  local out, have = {}, 0
  while have < n do
    local block = core.sha256(self.seed .. self:next_seq())
    out[#out + 1] = block
    have = have + #block
  end
  return concat(out):sub(1, n)
end

local ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

function Store:random_token(n)
  local bytes, out = self:random_bytes(n), {}
  for i = 1, n do
    local k = bytes:byte(i) % #ALNUM + 1
    out[i] = ALNUM:sub(k, k)
  end
  return concat(out)
end

--- A RequestId: a version 4 UUID.
function Store:request_id()
  local h = core.hex(self:random_bytes(16))
  local variant = ("89ab"):sub(h:byte(17) % 4 + 1, h:byte(17) % 4 + 1)
  return h:sub(1, 8) .. "-" .. h:sub(9, 12) .. "-4" .. h:sub(14, 16) .. "-" .. variant .. h:sub(18, 20)
    .. "-" .. h:sub(21, 32)
end

-------------------------------------------------------------------------------
-- Certificates
-------------------------------------------------------------------------------

function Store:certificate_count()
  local n = 0
  for _ in pairs(self.certs) do n = n + 1 end
  return n
end

local function new_certificate_id(self)
  for _ = 1, 100 do
    local id = self:random_token(8)
    if not self.certs[id] then return id end
  end
  error("could not find a free certificate id")
end

--- check_room(): raises LimitExceeded when the store holds as many certificates as it may.
function Store:check_room()
  if self:certificate_count() >= M.MAX_CERTIFICATES then
    raise("LimitExceeded", "The emulator holds at most " .. M.MAX_CERTIFICATES .. " certificates.")
  end
end

--- add_certificate(fields) -> the new record: fields plus id, seq and inserted.
function Store:add_certificate(fields)
  self:check_room()
  local cert = { id = new_certificate_id(self), seq = self:next_seq(), inserted = self:now() }
  for k, v in pairs(fields) do cert[k] = v end
  self.certs[cert.id] = cert
  return cert
end

--- find_certificate(id) -> the record; raises MissingParameter or CertificateNotFound.
function Store:find_certificate(id)
  if id == "" then raise("MissingParameter", "The request is missing a required parameter `CertificateId`.") end
  local cert = self.certs[id]
  if not cert then
    raise("FailedOperation.CertificateNotFound", "The certificate `" .. id .. "` does not exist.")
  end
  return cert
end

--- status_of(cert) -> its CertificateStatus: orders (ApplyCertificate) carry theirs until
-- issued; issued and uploaded ones are issued, or expired once their time is over.
function Store:status_of(cert)
  if cert.status and cert.status ~= CERT.issued then return cert.status end
  return cert.not_after < self:now() and CERT.expired or CERT.issued
end

return M
