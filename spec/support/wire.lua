--- A tiny HTTP/1.1 client and the two request signers, for the emulator's own specs: they talk raw
-- HTTP/1.1 over luasocket so that every byte on the wire is under control, and sign with tcssl.core.
--
--   local wire = require "spec.support.wire"
--   local c = wire.connect(e)                 -- e from spec.support.emulator's start(); opts.ca for TLS
--   local r, res = wire.call(c, "DescribeCertificates", {})   -- r: the Response, res: the raw reply
--   c:request(method, target, headers, body) -> { status, headers, body, body_error }
--   wire.tc3_headers(host, action, body, o), wire.v1_params(host, action, params, o)
--
-- Requests are signed with KEY_ID / KEY unless o.id / o.key say otherwise; KEYS are the keys an
-- emulator for these specs starts with (one of them temporary, with TOKEN).

local socket = require "socket"
local cjson = require "cjson.safe"
local core = require "tcssl.core"
local assert = require "luassert"

local M = {}

local KEY_ID, KEY = "AKIDSPECSPECSPECSPECSPECSPECSPECSPEC", "spec-secret-key-spec-secret-key0"
M.KEY_ID, M.KEY = KEY_ID, KEY
M.TEMP_ID, M.TEMP_KEY, M.TOKEN = "AKIDTEMPORARYKEY", "temporary-secret-key", "session-token-123"
M.KEYS = {
  [KEY_ID] = { secret_key = KEY },
  [M.TEMP_ID] = { secret_key = M.TEMP_KEY, token = M.TOKEN },
}

-------------------------------------------------------------------------------
-- A tiny HTTP/1.1 client
-------------------------------------------------------------------------------

local Client = {}
Client.__index = Client

local function connect(e, opts)
  opts = opts or {}
  local sock = assert(socket.connect("127.0.0.1", e.port))
  sock:settimeout(opts.timeout or 10)
  if opts.ca then
    local ssl = require "ssl"
    sock = assert(ssl.wrap(sock, { mode = "client", protocol = "any", verify = "peer", cafile = opts.ca }))
    sock:settimeout(opts.timeout or 10)
    assert(sock:dohandshake())
  end
  return setmetatable({ sock = sock, host = e.host }, Client)
end

function Client:close()
  self.sock:close()
end

function Client:send(raw)
  return self.sock:send(raw)
end

local function format_request(method, target, headers, body)
  local lines = { method .. " " .. target .. " HTTP/1.1" }
  for name, value in pairs(headers) do lines[#lines + 1] = name .. ": " .. value end
  if body and not headers["Content-Length"] and not headers["Transfer-Encoding"] then
    lines[#lines + 1] = "Content-Length: " .. #body
  end
  return table.concat(lines, "\r\n") .. "\r\n\r\n" .. (body or "")
end

function Client:read_chunked()
  local parts = {}
  for _ = 1, 100000 do
    local line, err = self.sock:receive("*l")
    if not line then return table.concat(parts), err end
    local size = tonumber(line, 16)
    if size == 0 then
      self.sock:receive("*l")
      return table.concat(parts)
    end
    local data, derr, partial = self.sock:receive(size)
    parts[#parts + 1] = data or partial
    if not data then return table.concat(parts), derr end
    self.sock:receive("*l")
  end
end

-- Reads one response (skipping 100 Continue). Returns { status, headers, body, body_error }
-- or nil, error when not even a status line arrived.
function Client:read_response()
  for _ = 1, 3 do
    local line, err = self.sock:receive("*l")
    if not line then return nil, err end
    local res = { status = tonumber(line:match("^HTTP/1%.%d (%d%d%d)")), headers = {} }
    for _ = 1, 100 do
      local h = assert(self.sock:receive("*l"))
      if h == "" then break end
      local name, value = h:match("^([^:]+):%s*(.*)$")
      res.headers[name:lower()] = value
    end
    if res.status ~= 100 then
      if res.headers["content-length"] then
        local data, berr, partial = self.sock:receive(tonumber(res.headers["content-length"]))
        res.body, res.body_error = data or partial, berr
      elseif res.headers["transfer-encoding"] == "chunked" then
        res.body, res.body_error = self:read_chunked()
      else
        res.body = self.sock:receive("*a")
      end
      return res
    end
  end
end

function Client:request(method, target, headers, body)
  assert(self:send(format_request(method, target, headers, body)))
  return self:read_response()
end

-------------------------------------------------------------------------------
-- Signing helpers
-------------------------------------------------------------------------------

-- Headers for a TC3 request. o: id, key, token, timestamp, method, query, content_type,
-- service, version, sign_action (also sign X-TC-Action), host, sign_host (the host signed, when
-- it differs from the Host header sent).
local function tc3_headers(host, action, body, o)
  o = o or {}
  local method = o.method or "POST"
  local ts = o.timestamp or os.time()
  local content_type = o.content_type or (method == "GET" and "application/x-www-form-urlencoded" or "application/json")
  local auth = core.tc3_sign{
    secret_id = o.id or KEY_ID, secret_key = o.key or KEY, service = o.service or "ssl",
    host = o.sign_host or o.host or host, method = method, query = o.query or "", content_type = content_type,
    payload = method == "POST" and body or "", timestamp = ts,
    headers = o.sign_action and { ["x-tc-action"] = action } or nil,
  }
  local headers = {
    Host = o.host or host,
    ["Content-Type"] = content_type,
    ["X-TC-Action"] = action,
    ["X-TC-Version"] = o.version or "2019-12-05",
    ["X-TC-Timestamp"] = tostring(ts),
    Authorization = auth,
  }
  if o.token then headers["X-TC-Token"] = o.token end
  return headers
end

local function decode(res)
  local data = assert(cjson.decode(res.body), "response is not JSON: " .. tostring(res.body))
  return data.Response
end

-- Signs and sends one TC3 POST with params encoded as JSON; returns Response and raw response.
local function call(c, action, params, o)
  local body = o and o.body or cjson.encode(params or {})
  local res = assert(c:request("POST", "/", tc3_headers(c.host, action, body, o), body))
  assert.equals(200, res.status)
  return decode(res), res
end

local function error_code(response)
  return response.Error and response.Error.Code
end

local function url_encode(s)
  return (tostring(s):gsub("[^%w%-_%.~]", function(ch) return string.format("%%%02X", ch:byte()) end))
end

-- A v1-signed parameter string. o: method, signature_method, id, key, token, timestamp,
-- path (default "/"; the legacy API's is /v2/index.php, and it sends no Version).
local function v1_params(host, action, params, o)
  o = o or {}
  local p = {}
  for k, v in pairs(params or {}) do p[k] = tostring(v) end
  p.Action = action
  if not o.path then p.Version = "2019-12-05" end
  p.Timestamp = tostring(o.timestamp or os.time())
  p.Nonce = tostring(o.nonce or math.random(1, 1000000))
  p.SecretId = o.id or KEY_ID
  p.Token = o.token
  p.SignatureMethod = o.signature_method
  local names = {}
  for k in pairs(p) do names[#names + 1] = k end
  table.sort(names)
  local plain, encoded = {}, {}
  for i, k in ipairs(names) do
    plain[i] = k .. "=" .. p[k]
    encoded[i] = k .. "=" .. url_encode(p[k])
  end
  local text = (o.method or "GET") .. host .. (o.path or "/") .. "?" .. table.concat(plain, "&")
  local signature = core.v1_sign(o.signature_method == "HmacSHA256" and "HmacSHA256" or "HmacSHA1", o.key or KEY, text)
  return table.concat(encoded, "&") .. "&Signature=" .. url_encode(o.bad_signature and "AAAA" .. signature or signature)
end

local function wait_until(predicate, seconds)
  local deadline = socket.gettime() + (seconds or 5)
  while socket.gettime() < deadline do
    if predicate() then return true end
    socket.sleep(0.01)
  end
  return false
end

M.connect = connect
M.format_request = format_request
M.tc3_headers = tc3_headers
M.decode = decode
M.call = call
M.error_code = error_code
M.url_encode = url_encode
M.v1_params = v1_params
M.wait_until = wait_until

return M
