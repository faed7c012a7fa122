-- tcssl error objects: plain tables with a shared metatable, returned as the second value of
-- `nil, err`. Fields: kind, code, message, request_id, action, http_status, retryable.
local M = {}

local Error = {}
Error.__index = Error
M.Error = Error

--- The kinds tcssl uses. `api` errors carry the server's Code; the others carry tcssl's own.
M.kinds = {
  api = true, network = true, timeout = true, tls = true, protocol = true,
  validation = true, config = true, credentials = true,
  state = true, -- a waiter saw a state that will not lead where it waits (a failed order, say)
  io = true,    -- a local file could not be written (certs.write_file)
}

function Error:__tostring()
  local s
  if self.kind == "api" then
    s = ("%s: %s"):format(self.code, self.message)
  else
    s = ("tcssl %s error %s: %s"):format(self.kind, self.code, self.message)
  end
  if self.action then s = s .. " [" .. self.action .. "]" end
  if self.http_status and self.kind ~= "api" then s = s .. " (HTTP " .. self.http_status .. ")" end
  if self.request_id then s = s .. " (RequestId " .. self.request_id .. ")" end
  return s
end

--- new(kind, code, message [, fields]) builds an error; `fields` are copied onto it.
function M.new(kind, code, message, fields)
  local e = { kind = kind, code = code, message = message, retryable = false }
  if fields then
    for k, v in pairs(fields) do e[k] = v end
  end
  return setmetatable(e, Error)
end

function M.is(v)
  return getmetatable(v) == Error
end

--- A short, printable excerpt of a response body for error messages.
-- body may be a function that returns it, for a body read only when a message quotes it.
function M.excerpt(body, max)
  max = max or 160
  if type(body) == "function" then body = body() end
  if type(body) ~= "string" then return "" end
  local s = body:sub(1, max):gsub("[%c]+", " ")
  if #body > max then s = s .. "…" end
  return s
end

return M
