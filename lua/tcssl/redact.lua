-- What must not be shown: the secrets a request URL or a proxy URL can carry, masked before
-- either reaches a hook, a log line, an error or tostring.
local M = {}

-- GET and v1 requests carry every parameter in the URL: v1's Signature and Token, secret keys,
-- private keys and their passwords (also inside arrays, Name.N.Field), and the legacy API's `key`.
local SECRET_NAMES = { "token", "secretkey", "privatekey", "password", "passwd" }

--- secret_name(name) -> true when a parameter of that name holds a secret.
function M.secret_name(k)
  local last = (k:match("([^.]+)$") or k):lower()
  -- SignatureMethod and SignatureVersion say how, not what: only Signature itself is hidden
  if last == "key" or last == "signature" then return true end
  for _, s in ipairs(SECRET_NAMES) do
    if last:find(s, 1, true) then return true end
  end
  return false
end
local secret_name = M.secret_name

local function mask(sep, k, v)
  if secret_name(k) then v = "***" end
  return sep .. k .. "=" .. v
end

--- url(url) -> the URL with the value of every secret query parameter as ***.
function M.url(url)
  return (url:gsub("([?&])([%w_.]+)=([^&]*)", mask))
end

--- userinfo(url) -> the URL with any user:password@ as ***@ (a proxy's password is a secret
-- like the keys).
function M.userinfo(url)
  return (url:gsub("^(%a[%w+.-]*://)[^/@]*@", "%1***@"))
end

return M
