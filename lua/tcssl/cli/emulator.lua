-- tcssl.cli.emulator: `tcssl emulator [options]` runs the emulator's own command line
-- (tcssl_emulator.cli, from the tcssl-emulator package) with the words that follow; its
-- options and messages are its own (`tcssl emulator --help`).

local M = {}

function M.run(ctx, words)
  local ok, cli = pcall(require, "tcssl_emulator.cli")
  if not ok then
    ctx.err:write("tcssl: cannot load the emulator (the tcssl-emulator package): ", tostring(cli), "\n")
    return 1
  end
  return cli.main(words, ctx.out, ctx.err)
end

return M
