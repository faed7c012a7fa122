-- The libcurl transport: one tcssl.core session (one easy handle, one kept-alive connection)
-- per transport object, created on first use so that nothing happens at require time.
local core = require "tcssl.core"

local Transport = {}
Transport.__index = Transport

local M = {}

--- new{ proxy, ca_file, ca_path, insecure, max_response_size, user_agent }
function M.new(opts)
  return setmetatable({ opts = opts or {} }, Transport)
end

-- Failures that happen before a request can have reached the server.
local not_sent = { ResolveFailed = true, ConnectFailed = true, TLSVerifyFailed = true,
  TLSHandshakeFailed = true, BadURL = true, BadHeader = true }

--- request(method, url, headers, body, opts) -> status, headers, body | nil, err
-- opts: timeout, connect_timeout (seconds); fresh (true: a new connection for this request,
-- which libcurl then never sends a second time; see docs/core.md). err: { kind, code,
-- message, sent }.
function Transport:request(method, url, headers, body, opts)
  local session = self.session
  if not session then
    local ok, made = pcall(core.session, self.opts)
    if not ok then
      return nil, { kind = "network", code = "SessionFailed", message = tostring(made), sent = false }
    end
    session = made
    self.session = session
  end
  local status, rheaders, rbody = session:request{
    method = method, url = url, headers = headers, body = body,
    timeout = opts and opts.timeout, connect_timeout = opts and opts.connect_timeout,
    fresh = opts and opts.fresh == true,
  }
  if not status then
    local err = rheaders
    -- the core says whether any request bytes left; otherwise judge by the failure
    if err.sent == nil then err.sent = not not_sent[err.code] end
    return nil, err
  end
  return status, rheaders, rbody
end

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
