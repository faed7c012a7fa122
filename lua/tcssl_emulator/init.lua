--- tcssl_emulator: a stateful local stand-in for the Tencent Cloud SSL Certificates API
-- (API 3.0, version 2019-12-05, service `ssl`, and the legacy 2017 API on /v2/index.php),
-- a package of its own beside the tcssl client, whose core, model and JSON it uses.
--
-- It verifies TC3-HMAC-SHA256 and v1 signatures, checks every request's parameters against
-- the model (with the client's codes), keeps uploaded certificates in memory, plays cloud
-- resources, deployments, free certificates, STS and the metadata service, answers every
-- other action with a success made from its output model, and plays faults on request.
-- Nothing here does I/O at require time.
--
--   local emulator = require "tcssl_emulator"
--   local server = assert(emulator.new{ port = 0, keys = { AKIDxxx = { secret_key = "..." } } })
--   print(server:url())
--   server:run()                        -- until /__emulator/shutdown or max_lifetime
--   -- or, embedded: while server:step(0.01) do ... end
--
-- Its parts, one job each:
--   server        the select() loop: connections, slots, timeouts, routing
--   http          one connection: reading requests within bounds, writing responses
--   api           one API request: which API, reading, checking, answering, the envelope
--   signature     TC3 and v1 signatures, tokens, the clock window, replays
--   params        parameters: forms, flattened names, types from the model, schema checks
--   store         all the emulator remembers, and the operations its parts share
--   actions       which code answers each action of API 3.0
--   certificates  the certificate store's actions
--   tasks         cloud resources, deployments and updates
--   issuer        free certificates (orders, validation, a CA) and downloads
--   synth         replies made from the model for actions without state
--   views         how certificates, times and lists look in replies
--   legacy        the 2017 API
--   cloud         STS and the CVM metadata service
--   pem           certificates and keys received, read with tcssl.core
--   mint          certificates made with luaossl (the issuer's, the specs' test PKI)
--   faults        failures played on request
--   control       the /__emulator/ endpoints
--   errors        API errors raised while answering
--   cli           the command line of bin/tcssl-emulator and `tcssl emulator`
local server = require "tcssl_emulator.server"
local store = require "tcssl_emulator.store"
local api = require "tcssl_emulator.api"
local actions = require "tcssl_emulator.actions"

local M = {
  _VERSION = "0.1.0",
  API_VERSION = api.API_VERSION,
  SERVICE = api.SERVICE,
  DEMO_SECRET_ID = store.DEMO_SECRET_ID,
  DEMO_SECRET_KEY = store.DEMO_SECRET_KEY,
  --- The defaults of the settings POST /__emulator/config changes (see tcssl_emulator.store).
  SETTINGS = store.SETTINGS,
  --- The actions answered from the store rather than made from the model.
  STORE_ACTIONS = actions.STORE_ACTIONS,
  Server = server.Server,
}

--- new(opts) -> a server, or nil, message (see tcssl_emulator.server for opts).
M.new = server.new

return M
