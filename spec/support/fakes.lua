--- Stand-ins for the client's clock and transport, so that unit specs need no network and never
-- wait.
--
--   local fakes = require "spec.support.fakes"
--   local ft = fakes.time()            -- ft.now (1000 unless given), ft.monotonic(), ft.sleep(s)
--   ft.slept                           -- every sleep, in order; sleeping advances ft.now
--
--   local t = fakes.transport{ a1, a2 } -- answers each request with the next answer, the last
--                                       -- one again once they run out
--   t.sent, t.seen                     -- each request ({ method, url, headers, body, opts }), how many
--
--   local r = fakes.router{ { pattern, answer }, ... } -- answers by the request URL
--   fakes.getenv{ NAME = "value" }    -- an os.getenv that sees only these variables
--
-- A transport answer is { status, headers, body }, { err = error } for a failed request, or a
-- string: a 200 JSON reply with that body. Without answers the reply is an empty Response.

local M = {}

function M.getenv(vars)
  return function(name) return vars[name] end
end

function M.time(start)
  local t = { now = start or 1000, slept = {} }
  t.monotonic = function() return t.now end
  t.sleep = function(s)
    t.slept[#t.slept + 1] = s
    t.now = t.now + s
    return true
  end
  return t
end

local JSON = { ["content-type"] = "application/json" }
M.EMPTY_RESPONSE = '{"Response":{"RequestId":"r-1"}}'

local function reply(a)
  if type(a) == "string" then return 200, JSON, a end
  if a.err then return nil, a.err end
  return a[1], a[2], a[3]
end

function M.transport(answers)
  answers = answers or {}
  local t = { sent = {}, seen = 0 }
  function t.request(_, method, url, headers, body, opts)
    t.sent[#t.sent + 1] = { method = method, url = url, headers = headers, body = body, opts = opts }
    t.seen = #t.sent
    return reply(answers[math.min(t.seen, #answers)] or M.EMPTY_RESPONSE)
  end
  return t
end

-- routes: { { url pattern, route answer or function(url, headers, body) -> route answer }, ... };
-- the first whose pattern the URL contains answers. A route answer is { status, body } with
-- ctype for a content type other than JSON, or { err = error }; no match is a refused
-- connection. opts.yield: each request yields its coroutine first.
function M.router(routes, opts)
  local t = { sent = {} }
  function t.request(_, method, url, headers, body)
    t.sent[#t.sent + 1] = { method = method, url = url, headers = headers, body = body }
    if opts and opts.yield then coroutine.yield() end
    for _, r in ipairs(routes) do
      if url:find(r[1]) then
        local a = type(r[2]) == "function" and r[2](url, headers, body) or r[2]
        if a.err then return nil, a.err end
        return a[1], { ["content-type"] = a.ctype or "application/json" }, a[2]
      end
    end
    return nil, { kind = "network", code = "ConnectFailed", message = "nothing listens there", sent = false }
  end
  return t
end

return M
