-- The statistics the bench programs share.
local M = {}

--- median(list) -> the median of a list of numbers, its lowest and its highest value.
function M.median(list)
  local s = {}
  for i, v in ipairs(list) do s[i] = v end
  table.sort(s)
  local n = #s
  local mid = n % 2 == 1 and s[(n + 1) / 2] or (s[n / 2] + s[n / 2 + 1]) / 2
  return mid, s[1], s[n]
end

return M
