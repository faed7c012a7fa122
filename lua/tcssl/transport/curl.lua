-- The libcurl transport: one tcssl.core session (one easy handle, one kept-alive connection)
-- per transport object, created on first use so that nothing happens at require time.
local core = require "tcssl.core"
local json = require "tcssl.json"

local Transport = {}
Transport.__index = Transport

local M = {}

--- new{ proxy, ca_file, ca_path, insecure, max_response_size, user_agent }
function M.new(opts)
  local t = setmetatable({ opts = opts or {} }, Transport)
  t.body_reader = function() return t:last_body() end -- for an error message that quotes a reply
  return t
end

-- Failures that happen before a request can have reached the server.
local not_sent = { ResolveFailed = true, ConnectFailed = true, TLSVerifyFailed = true,
  TLSHandshakeFailed = true, BadURL = true, BadHeader = true }

-- The transport's session, made on first use.
local function session_of(self)
  if self.session then return self.session end
  local ok, made = pcall(core.session, self.opts)
  if not ok then
    return nil, { kind = "network", code = "SessionFailed", message = tostring(made), sent = false }
  end
  self.session = made
  return made
end

-- The core's failure as the transport reports it.
local function failure(err)
  -- the core says whether any request bytes left; otherwise judge by the failure
  if err.sent == nil then err.sent = not not_sent[err.code] end
  return nil, err
end

--- request(method, url, headers, body, opts) -> status, headers, body | nil, err
-- opts: timeout, connect_timeout (seconds); fresh (true: a new connection for this request,
-- which libcurl then never sends a second time; see docs/core.md). err: { kind, code,
-- message, sent }.
function Transport:request(method, url, headers, body, opts)
  local session, err = session_of(self)
  if not session then return nil, err end
  local status, rheaders, rbody = session:request{
    method = method, url = url, headers = headers, body = body,
    timeout = opts and opts.timeout, connect_timeout = opts and opts.connect_timeout,
    fresh = opts and opts.fresh == true,
  }
  if not status then return failure(rheaders) end
  return status, rheaders, rbody
end

local json_null, json_array_mt = json.null, json.array_mt

--- call(req, timeout, connect_timeout, fresh [, plan]) -> status, content_type, date, doc
-- [, checked] | status, content_type, date, nil, body | nil, err (as request's); checked, with a
-- plan (tcssl.schema.read_plan), is what reading the reply under it found.
-- The client's one crossing for a signed API 3.0 call (tcssl.request.build_call made req): the
-- core signs it (TC3-HMAC-SHA256 for a POST or GET, or signature v1), sends it on the session's
-- connection with the session's header list, and reads a 200 reply's JSON as tcssl.json.decode
-- does; any other reply, or one that is not JSON, comes back as its body. docs/core.md,
-- session:call.
function Transport:call(req, timeout, connect_timeout, fresh, plan)
  local session, err = session_of(self)
  if not session then return nil, err end
  local cfg, creds = req.cfg, req.creds
  local status, ctype, date, doc, body
  if req.call == "v1" then
    status, ctype, date, doc, body = session:call_v1(req.base, req.method, cfg.host, cfg.sign_method,
      creds.secret_key, req.to_sign, req.wire, cfg.request_client, timeout, connect_timeout, fresh,
      json_null, json_array_mt, plan)
  else
    status, ctype, date, doc, body = session:call(req.base, cfg.host, cfg.service, req.action, cfg.version,
      cfg.region, req.now, creds.token, cfg.language, cfg.request_client, creds.secret_id, creds.secret_key,
      req.body, timeout, connect_timeout, fresh, req.method, json_null, json_array_mt, plan)
  end
  if not status then return failure(ctype) end
  return status, ctype, date, doc, body
end

--- last_body() -> the body of the reply call last decoded (for an error message quoting it).
function Transport:last_body()
  return self.session and self.session:body() or ""
end

M.Transport = Transport

function Transport:stats()
  return self.session and self.session:stats() or { connects = 0, requests = 0 }
end

function Transport:close()
  if self.session then
    self.session:close()
    self.session = nil
  end
end

M.name = "curl"
return M
