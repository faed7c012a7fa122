-- tcssl.cli.configure: `tcssl configure [--profile NAME] [--secret-id ID] [--secret-key KEY|-]`:
-- writes a section of ~/.tencentcloud/credentials (the file the credentials chain reads, as the
-- official SDKs do), asking on a terminal for what the flags do not give. The file is written
-- whole through tcssl.certs.write_file with mode 0600; its other sections and lines stay.

local certs = require "tcssl.certs"

local M = {}

M.usage = [[
usage: tcssl configure [--profile NAME] [--secret-id ID] [--secret-key KEY | --secret-key -]
                       [--token TOKEN]

Writes the keys into section NAME (default "default") of ~/.tencentcloud/credentials, mode
0600, keeping the file's other sections. On a terminal it asks for what is not given (the
key without echo); otherwise --secret-id and --secret-key are needed. `--secret-key -`
reads the key from the first line of stdin, which keeps it out of the process list.
The region is not kept there: give --region or TENCENTCLOUD_REGION (tccli's profile region,
~/.tccli/NAME.configure, is read too).
]]

--- set_section(text, name, values, keys) -> text with section [name] holding values (keys
-- gives their order): lines of those keys replaced, missing ones added at the section's end,
-- the section added at the end of the file when it has none.
function M.set_section(text, name, values, keys)
  local lines = {}
  for line in (text or ""):gmatch("([^\n]*)\n?") do lines[#lines + 1] = line end
  while #lines > 0 and lines[#lines] == "" do lines[#lines] = nil end
  local out, current, done, seen = {}, nil, false, {}
  local function finish_section()
    if current == name and not done then
      -- the section's missing keys go after its last non-blank line
      local at = #out
      while at > 0 and out[at] == "" do at = at - 1 end
      for _, k in ipairs(keys) do
        if not seen[k] and values[k] then
          table.insert(out, at + 1, k .. " = " .. values[k])
          at = at + 1
        end
      end
      done = true
    end
  end
  for _, line in ipairs(lines) do
    local section = line:match("^%s*%[%s*([^%]]-)%s*%]%s*$")
    if section then
      finish_section()
      current = section
      out[#out + 1] = line
    else
      local key = line:match("^%s*([%w_]+)%s*=")
      if current == name and key and values[key] ~= nil then
        if not seen[key] then out[#out + 1] = key .. " = " .. values[key] end
        seen[key] = true
      else
        out[#out + 1] = line
      end
    end
  end
  finish_section()
  if not done then
    if #out > 0 then out[#out + 1] = "" end
    out[#out + 1] = "[" .. name .. "]"
    for _, k in ipairs(keys) do
      if values[k] then out[#out + 1] = k .. " = " .. values[k] end
    end
  end
  return table.concat(out, "\n") .. "\n"
end

local function masked(v)
  if not v or #v < 4 then return "" end
  return " [****" .. v:sub(-4) .. "]"
end

-- The command's options ("value" or "flag"); the completion scripts list them too.
M.options = { ["secret-id"] = "value", ["secret-key"] = "value", token = "value" }

function M.run(ctx, words)
  local o = ctx:options("configure", words, M.options)
  local name = ctx.opts.profile or "default"
  if not name:find("^[%w_%.%-]+$") then
    ctx:usage_error("configure: --profile takes a name of letters, digits, _ . -", "configure")
  end
  local home = ctx.getenv("HOME")
  if not home or home == "" then ctx:usage_error("configure: HOME is not set") end
  local dir = home .. "/.tencentcloud"
  local path = dir .. "/credentials"
  local f = io.open(path, "rb")
  local old = f and f:read("a") or ""
  if f then f:close() end
  local current = require("tcssl.credentials").parse_ini(old) or {}
  current = current[name] or {}
  local id, key = o["secret-id"], o["secret-key"]
  if key == "-" then
    key = ctx.stdin:read("l")
    if not key or key == "" then ctx:usage_error("configure: --secret-key - found no key on stdin") end
  end
  local terminal = ctx.tty("stdin")
  if (not id or not key) and not terminal then
    ctx:usage_error("configure: not on a terminal: give --secret-id and --secret-key (or --secret-key -)", "configure")
  end
  if not id then
    ctx.err:write("SecretId", masked(current.secret_id), ": ")
    id = ctx.stdin:read("l")
    if (id == nil or id == "") then id = current.secret_id end
  end
  if not key then
    ctx.err:write("SecretKey", masked(current.secret_key), ": ")
    ctx:execute("stty -echo 2>/dev/null")
    key = ctx.stdin:read("l")
    ctx:execute("stty echo 2>/dev/null")
    ctx.err:write("\n")
    if (key == nil or key == "") then key = current.secret_key end
  end
  for label, v in pairs{ ["secret id"] = id, ["secret key"] = key } do
    if not v or not v:find("^[^%s%c]+$") then
      ctx:usage_error("configure: the " .. label .. " is empty or has spaces", "configure")
    end
  end
  if o.token and not o.token:find("^[^%s%c]+$") then ctx:usage_error("configure: --token has spaces") end
  if not ctx:execute("mkdir -p -m 700 " .. require("tcssl.cli").shell_quote(dir)) then
    ctx:fail("cannot make " .. dir)
  end
  local text = M.set_section(old, name, { secret_id = id, secret_key = key, token = o.token },
    { "secret_id", "secret_key", "token" })
  local ok, err = certs.write_file(path, text, { private = true })
  if not ok then ctx:fail(err) end
  ctx.out:write(("wrote [%s] of %s (mode 600)\n"):format(name, path))
  return 0
end

return M
