-- Choosing a transport: an explicit one from the configuration, else libcurl. (The OpenResty
-- cosocket transport is chosen here once it exists, inside phases that allow cosockets.)
local M = {}

--- default(opts) -> a transport for the client options (proxy, ca_file, ca_path, insecure,
-- max_response_size, user_agent).
function M.default(opts)
  return require("tcssl.transport.curl").new(opts)
end

return M
