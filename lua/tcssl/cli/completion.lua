-- tcssl.cli.completion: `tcssl completion bash|zsh` prints a completion script
-- (tcssl.cli.docs builds it from the API model and the command's options).

local M = {}

M.usage = [[
usage: tcssl completion bash|zsh

Prints a completion script built from the API model and the command's options:
  source <(tcssl completion bash)         or install it as .../bash-completion/completions/tcssl
  tcssl completion zsh > DIR/_tcssl       DIR a directory of zsh's $fpath
]]

function M.run(ctx, words)
  if words[1] == "--help" then
    ctx.out:write(M.usage)
    return 0
  end
  local shell = words[1]
  local script = #words == 1 and require("tcssl.cli.docs").completion(shell)
  if not script then ctx:usage_error("completion: give bash or zsh", "completion") end
  ctx.out:write(script)
  return 0
end

return M
