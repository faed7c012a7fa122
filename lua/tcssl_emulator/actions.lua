--- tcssl_emulator.actions: which code answers each API 3.0 action. The actions with state
-- have handlers in tcssl_emulator.certificates (the certificate store), tcssl_emulator.tasks
-- (resources, deployments, updates) and tcssl_emulator.issuer (free certificates,
-- downloads); every other action of the model answers a reply made from its output model
-- (tcssl_emulator.synth).
local certificates = require "tcssl_emulator.certificates"
local tasks = require "tcssl_emulator.tasks"
local issuer = require "tcssl_emulator.issuer"
local synth = require "tcssl_emulator.synth"

local M = {}

local HANDLERS = {}
for _, part in ipairs({ certificates, tasks, issuer }) do
  for name, handler in pairs(part.handlers) do
    assert(not HANDLERS[name], name .. " has two handlers")
    HANDLERS[name] = handler
  end
end

--- The actions answered from the store rather than made from the model, in order.
M.STORE_ACTIONS = {}
for name in pairs(HANDLERS) do M.STORE_ACTIONS[#M.STORE_ACTIONS + 1] = name end
table.sort(M.STORE_ACTIONS)

--- answer(store, action, params, ctx, action_model) -> the reply's contents. params are
-- checked against the model already; work that is due by time finishes first.
function M.answer(store, action, params, ctx, action_model)
  tasks.settle(store)
  issuer.settle(store)
  local handler = HANDLERS[action]
  if handler then return handler(store, params, ctx, action_model) end
  return synth.response(store, action, action_model)
end

return M
