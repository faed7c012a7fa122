-- tcssl: a client for the Tencent Cloud SSL Certificates API.
--
--   local tcssl = require "tcssl"
--   local client = assert(tcssl.new{ region = "ap-guangzhou", secret_id = ..., secret_key = ... })
--   local res, err = client:call("DescribeCertificates", { Limit = 10 })
--
-- Success returns the API's Response contents; failure returns nil and an error object.
local core = require "tcssl.core"
local json = require "tcssl.json"
local client = require "tcssl.client"
local errors = require "tcssl.error"

local M = {
  _VERSION = "tcssl " .. core.version,
  version = core.version,
}

--- new(config) -> client | nil, err
M.new = client.new

--- meta(result) -> { attempts, duration } of a successful call (the Response contents stay
-- exactly what the API sent); errors carry `attempts` themselves.
M.meta = client.meta

--- legacy(config) -> client for the legacy 2017 API (CertGetList, CertUpload, CertDelete on
-- wss.api.qcloud.com/v2/index.php, v1 signing); results are the `data` of its envelope.
M.legacy = client.LEGACY.new

--- service(description) -> a service whose new(config) makes clients of another API 3.0
-- service, such as STS: tcssl.service{ service = "sts", version = "2018-08-13" }.new{...}
-- (README, "Other services").
M.service = client.service

--- array(t): marks t as a JSON array, so that an empty table is sent as [] rather than {}.
M.array = json.array

--- number(text): a number sent exactly as the decimal text given, for 64-bit values under
-- LuaJIT when validation is off (with validation, Integer parameters take such strings as is).
M.number = json.number

--- null: sends an explicit JSON null.
M.null = json.null

--- actions(): sorted names of every API action the model knows.
M.actions = require("tcssl.schema").actions

--- is_error(v): true for tcssl error objects.
M.is_error = errors.is

-- The helpers load on first use: tcssl.pages (pagination), tcssl.waiters, tcssl.certs
-- (certificates, PEM, times, downloads) and tcssl.flows (renew, expiring, issue_free).
local LAZY = { pages = "tcssl.pages", waiters = "tcssl.waiters", certs = "tcssl.certs", flows = "tcssl.flows" }
setmetatable(M, {
  __index = function(t, key)
    local name = LAZY[key]
    if not name then return nil end
    local mod = require(name)
    rawset(t, key, mod)
    return mod
  end,
})

return M
