-- Whether a failed attempt goes again, and after how long. The client's call loop asks; the
-- rules are here so that they read as one policy:
--   safe for every action: nothing was sent, or the server refused for rate (not processed);
--   safe only for actions that read: broken exchanges, 5xx, gateway pages, InternalError;
--   never: what cannot turn out differently, or a reply that cannot be read.
local M = {}

--- is_rate_limit(code): RequestLimitExceeded and its sub-codes (the server did not process it).
function M.is_rate_limit(code)
  return code == "RequestLimitExceeded" or code:find("^RequestLimitExceeded%.") ~= nil
end
local is_rate_limit = M.is_rate_limit

--- is_internal(code): InternalError and its sub-codes (the server may have acted).
function M.is_internal(code)
  return code == "InternalError" or code:find("^InternalError%.") ~= nil
end
local is_internal = M.is_internal

-- Rejections of the keys themselves: temporary keys that earn one are dropped and fetched again.
local REJECTED_KEYS = { ["AuthFailure.SecretIdNotFound"] = true, ["AuthFailure.InvalidSecretId"] = true,
  ["AuthFailure.TokenFailure"] = true }

--- rejects_keys(code): the server does not know the keys (revoked, rotated temporary keys).
function M.rejects_keys(code)
  return REJECTED_KEYS[code] == true
end

-- Transport codes that mean the exchange broke after the request may have left.
local BROKEN = { Timeout = true, RecvFailed = true, SendFailed = true, EmptyReply = true,
  TruncatedBody = true, NetworkError = true }

-- Transport failures that another attempt cannot change: a server certificate that does not
-- verify, a request the transport cannot make (the ngx transport's config errors too).
local PERMANENT = { TLSVerifyFailed = true, BadURL = true, BadHeader = true, BadRequest = true }

--- judge(err, readonly) -> retry, maybe_applied: whether the failed attempt may be tried
-- again, and whether the server may have acted on it.
function M.judge(err, readonly)
  if err.kind == "api" then
    if is_rate_limit(err.code) then return true, false end
    if is_internal(err.code) then return readonly, not readonly end
    return false, false
  end
  if PERMANENT[err.code] or err.kind == "config" then return false, err.sent ~= false end
  if err.sent == false then return true, false end
  local transient = BROKEN[err.code]
    or (err.code == "UnexpectedStatus" and (err.http_status or 0) >= 500)
    or err.code == "UnexpectedContentType"
  if transient then return readonly, not readonly end
  -- anything else came after the request may have arrived (a reply that cannot be read, a
  -- status nobody expected): not retried, and the server may have acted on it
  return false, true
end

--- backoff(cfg, attempts) -> seconds to wait before the next attempt: exponential with full
-- jitter, a random time up to min(retry_cap, retry_base * 2^(attempts - 1)).
function M.backoff(cfg, attempts)
  return math.random() * math.min(cfg.retry_cap, cfg.retry_base * 2 ^ (attempts - 1))
end

return M
