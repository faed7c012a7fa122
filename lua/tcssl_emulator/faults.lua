--- tcssl_emulator.faults: failures the emulator plays on request, for clients' tests.
-- POST /__emulator/fault arms one (tcssl_emulator.control) with a body such as
-- { "type": "delay", "seconds": 2, "count": 1, "action": "UpdateCertificateInstance" };
-- the next `count` requests (of that action, when one is named) take it instead of, or
-- before, their normal answer: a delay, a TCP reset, an HTTP 500, an HTML gateway page, a
-- reply cut short (by Content-Length, at the close, in a chunk), JSON that does not parse or
-- nests too deep, a big reply, an API error of a chosen code. The `clock` fault is not armed:
-- it shifts the store's clock at once.
local api = require "tcssl_emulator.api"

local floor, max, min = math.floor, math.max, math.min

local M = {}

--- The most faults armed at once.
M.MAX_ARMED = 1000

local FAULT_TYPES = {
  delay = true, reset = true, http500 = true, html = true, truncated = true,
  truncated_chunked = true, truncated_close = true, invalid_json = true, deep_json = true, big = true,
  api_error = true, clock = true,
}

local function number_field(spec, name, default, low, high)
  local v = spec[name]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v < low or v > high then
    return nil, string.format("%s must be a number between %s and %s", name, low, high)
  end
  return v
end

--- parse(spec) -> a fault record, or nil, message: a fault request body (decoded JSON) checked.
function M.parse(spec)
  if type(spec) ~= "table" or not FAULT_TYPES[spec.type] then
    return nil, "type must be one of: delay, reset, http500, html, truncated, truncated_chunked, "
      .. "invalid_json, deep_json, big, api_error, clock"
  end
  local count, err = number_field(spec, "count", 1, 1, 1000000)
  if not count then return nil, err end
  if spec.action ~= nil and (type(spec.action) ~= "string" or not spec.action:match("^%u%w*$")) then
    return nil, "action must be an action name such as UpdateCertificateInstance"
  end
  local fault = { type = spec.type, count = floor(count), action = spec.action }
  local checks = {
    delay = { "seconds", 1, 0, 3600 },
    html = { "status", 200, 100, 599 },
    big = { "bytes", 1024 * 1024, 0, 1024 * 1024 * 1024 },
    deep_json = { "depth", 10000, 1, 1000000 },
    clock = { "offset", 0, -1e9, 1e9 },
  }
  local check = checks[spec.type]
  if check then
    local value, message = number_field(spec, check[1], check[2], check[3], check[4])
    if not value then return nil, message end
    fault[check[1]] = value
  end
  if spec.type == "api_error" then
    if spec.code ~= nil and (type(spec.code) ~= "string" or spec.code == "") then
      return nil, "code must be a non-empty string"
    end
    if spec.message ~= nil and type(spec.message) ~= "string" then return nil, "message must be a string" end
    fault.code = spec.code or "InternalError"
    fault.message = spec.message or "Injected by the emulator."
  end
  return fault
end

--- take(faults, req) -> the first armed fault of the list `faults` for this request (nil:
-- none), counted down: a fault with an `action` waits for a request of that action (its
-- X-TC-Action header); one without takes the next request.
function M.take(faults, req)
  for i, fault in ipairs(faults) do
    if not fault.action or (req and req.headers["x-tc-action"] == fault.action) then
      fault.count = fault.count - 1
      if fault.count <= 0 then table.remove(faults, i) end
      return fault
    end
  end
  return nil
end

-- A syntactically valid envelope of exactly `bytes` bytes when that is large enough, padded
-- with a filler field; streamed so that large sizes need no large string.
local function send_big(store, conn, bytes, close)
  local prefix = '{"Response":{"RequestId":"' .. store:request_id() .. '","Padding":"'
  local suffix = '"}}'
  local headers = { { "Content-Type", "application/json" }, { "Content-Length", ("%d"):format(bytes) } }
  if close then headers[#headers + 1] = { "Connection", "close" } end
  conn:send_head(200, headers)
  conn.status = 200
  local filler = bytes - #prefix - #suffix
  if filler < 0 then
    return conn:send(string.rep("x", bytes))
  end
  conn:send(prefix)
  local block = string.rep("x", 64 * 1024)
  while filler > 0 do
    local n = min(filler, #block)
    if not conn:send(n == #block and block or block:sub(1, n)) then return end
    filler = filler - n
  end
  conn:send(suffix)
end

local HTML_PAGE = [[<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><h1>502 Bad Gateway</h1><p>The upstream API server did not answer (emulated gateway page).</p>
<hr><address>tcssl-emulator gateway</address></body></html>
]]

--- play(server, conn, fault, req) -> what happens next: "normal" (answer the request as
-- usual), "done" (answered, the connection goes on) or "close" (the connection must end).
function M.play(server, conn, fault, req)
  local kind = fault.type
  if kind == "delay" then
    conn:sleep(fault.seconds)
    return "normal"
  elseif kind == "reset" then
    conn:abort()
    return "close"
  elseif kind == "http500" then
    conn:respond(500, "text/plain; charset=utf-8", "Internal Server Error (injected by tcssl-emulator)\n", req.close)
  elseif kind == "html" then
    conn:respond(fault.status, "text/html; charset=utf-8", HTML_PAGE, req.close)
  elseif kind == "invalid_json" then
    conn:respond(200, "application/json", '{"Response": {"RequestId": "not-json", "Certificates": [}', req.close)
  elseif kind == "deep_json" then
    conn:respond(200, "application/json", string.rep("[", fault.depth) .. string.rep("]", fault.depth), req.close)
  elseif kind == "api_error" then
    local body = api.error_text(server.store, req, fault.code, fault.message)
    conn:respond(200, "application/json", body, req.close)
  elseif kind == "truncated" then
    local body = api.response(server.store, req, server.site)
    conn:send_head(200, { { "Content-Type", "application/json" }, { "Content-Length", tostring(#body + 1024) } })
    conn:send(body:sub(1, max(1, floor(#body / 2))))
    conn.status = 200
    return "close"
  elseif kind == "truncated_close" then
    -- no Content-Length: the body ends where the connection does, half way through
    local body = api.response(server.store, req, server.site)
    conn:send_head(200, { { "Content-Type", "application/json" }, { "Connection", "close" } })
    conn:send(body:sub(1, max(1, floor(#body / 2))))
    conn.status = 200
    return "close"
  elseif kind == "truncated_chunked" then
    local body = api.response(server.store, req, server.site)
    local part = body:sub(1, max(1, floor(#body / 2)))
    conn:send_head(200, { { "Content-Type", "application/json" }, { "Transfer-Encoding", "chunked" } })
    conn:send(string.format("%x\r\n%s\r\n", #part, part))
    conn.status = 200
    return "close"
  elseif kind == "big" then
    send_big(server.store, conn, fault.bytes, req.close)
  end
  return req.close and "close" or "done"
end

return M
