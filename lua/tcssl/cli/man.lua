-- tcssl.cli.man: `tcssl man` prints the manual page tcssl.1 (tcssl.cli.docs makes it from the
-- text of --help, the jobs' usage and the API model); `make install` installs its output.

local M = {}

M.usage = [[
usage: tcssl man

Prints the manual page tcssl.1 (roff), made from the same text as --help:
  tcssl man | man -l -
]]

function M.run(ctx, words)
  if words[1] == "--help" then
    ctx.out:write(M.usage)
    return 0
  end
  if #words > 0 then ctx:usage_error("man: takes no arguments", "man") end
  ctx.out:write(require("tcssl.cli.docs").man())
  return 0
end

return M
