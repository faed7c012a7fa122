--- tcssl_emulator.errors: the API errors a request can end in. Code that answers a request
-- raises one with errors.raise(code, message); tcssl_emulator.api turns it into the error
-- envelope of the API the request came on, and anything else raised into InternalError.
local M = {}

local ApiError = { __name = "tcssl_emulator.error" }
ApiError.__index = ApiError
ApiError.__tostring = function(e) return e.code .. ": " .. e.message end

--- raise(code, message[, detail]): ends the request with this API error. detail, when given,
-- is for the emulator's --verbose log only, never for the reply (it must hold no secret).
function M.raise(code, message, detail)
  error(setmetatable({ code = code, message = message, detail = detail }, ApiError), 0)
end

--- is(e) -> whether e is an API error (rather than a fault of the emulator).
function M.is(e)
  return getmetatable(e) == ApiError
end

return M
