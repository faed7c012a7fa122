--- The API documents the model is generated from (the Makefile's SEED), where this machine has
-- them: beside the clone in ../shared/seeds/, or in /work/shared/seeds/.
--
--   local seeds = require "spec.support.seeds"
--   seeds.path(seeds.SEED)  -- the path of the document set, or nil when it is not here
local M = {}

M.SEED = "004_6ca79b59cc431531.txt"
M.DIRS = { "../shared/seeds/", "/work/shared/seeds/" }

function M.path(name)
  for _, dir in ipairs(M.DIRS) do
    local f = io.open(dir .. name, "rb")
    if f then
      f:close()
      return dir .. name
    end
  end
end

return M
