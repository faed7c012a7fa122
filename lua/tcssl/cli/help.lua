-- tcssl.cli.help: `tcssl help` (the usage and every action by category), `tcssl help ACTION`
-- and `tcssl ACTION --help` (its parameters and output fields), `tcssl help COMMAND`. The
-- descriptions come from tcssl.model_docs, which only help loads.

local schema = require "tcssl.schema"
local shorten = require("tcssl.cli.output").shorten

local M = {}

--- text: the usage of the tcssl command.
M.text = [[
usage: tcssl [options] [ssl] <Action> [--Param value ...]   call any API action (tccli's form
                                                          with "ssl"), or CertGetList,
                                                          CertUpload, CertDelete (legacy API)
       tcssl help [Action]                               actions, or one action's parameters
       tcssl renew --cert FILE --key FILE --replace ID   upload a renewed certificate, move resources
       tcssl expiring [--days N]                         certificates ending within N days
       tcssl issue-free --domain NAME                    a free DV certificate
       tcssl download --id ID [--out DIR]                download and unzip a certificate
       tcssl configure [--profile NAME]                  write ~/.tencentcloud/credentials
       tcssl emulator [--port P ...]                     run the local API emulator
       tcssl completion bash|zsh                         a shell completion script
       tcssl man                                         this manual as a man page (roff)

options:
  --region REGION         region (X-TC-Region; default TENCENTCLOUD_REGION)
  --profile NAME          section of ~/.tencentcloud/credentials, then tccli's
                          ~/.tccli/NAME.credential (default: TCCLI_PROFILE or default)
  --endpoint HOST[:PORT]  API host (default ssl.tencentcloudapi.com; TCSSL_ENDPOINT)
  --scheme https|http     http only for the emulator (default https; TCSSL_SCHEME)
  --output json|table|text  json for actions (or tccli's configured output), table
                          for the commands; text: tab-separated lines for scripts
  --filter EXPRESSION     print what this JMESPath expression selects of the response
                          (Certificates[*].CertificateId, Certificates[?Status==`1`])
  --cli-input-json [file://]FILE  an action's parameters as a JSON object ("-" reads
                          stdin); --Param values given as well win
  --generate-cli-skeleton  print the action's parameters as JSON to fill in
                          for --cli-input-json; nothing is called
  --cli-unfold-argument   accepted for tccli's examples (parameters are always unfolded)
  --timeout SECONDS       per request (default 60)
  --language zh-CN|en-US  language of the API's messages
  --debug                 one line per request on stderr
  --shared redis://HOST[:PORT][/DB]
                          rate limits and temporary keys shared with other hosts
                          through Redis (TCSSL_SHARED; TCSSL_SHARED_KEY encrypts the keys)
  --version, --help

Parameter values: strings as they are (file://PATH reads a file), numbers, true/false;
arrays as JSON ('["a","b"]') or as several words (--ResourceTypes clb cdn); objects as JSON.
Credentials: TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY (/ TENCENTCLOUD_SESSION_TOKEN),
then the credentials file, tccli's profile (~/.tccli/), the CVM role, TKE OIDC.

Exit status:
  0  success
  1  the API refused the call (its code is printed), or a state, reply or file error
  2  usage: unknown command, action, option or parameter, a wrong value, unreadable input
  3  expiring: certificates end within the given days
  4  credentials: none found, or the API rejected them (AuthFailure.*)
  5  network: no connection, TLS failure or timeout
  6  rate limit: RequestLimitExceeded, after the client's retries
]]

local function type_text(f)
  return (f.array and "Array of " or "") .. f.type
end

local function one_line(text, max)
  return shorten(((text or ""):gsub("%s+", " ")), max)
end

local function docs_of(fields_docs, name)
  return fields_docs and fields_docs[name] and fields_docs[name].doc
end

--- action(ctx, name) -> status: an action's purpose, parameters and output fields.
function M.action(ctx, name)
  local model = schema.model()
  local a = model.actions[name]
  if not a then
    local names = schema.actions()
    local hint = schema.closest(name, names)
    ctx:usage_error(("unknown action %s%s"):format(name, hint and ("; did you mean " .. hint .. "?") or ""))
  end
  local docs = require "tcssl.model_docs"
  local d = docs.actions[name]
  local out = ctx.out
  out:write(("%s: %s\n%s, %d requests per second%s\n\n"):format(name, d.purpose or "", d.category or "",
    a.rate_limit or 0, a.readonly and ", reads only" or ""))
  out:write(("usage: tcssl %s%s\n\nparameters:\n"):format(name, #a.input > 0 and " [--Param value ...]" or ""))
  local rows = {}
  for _, f in ipairs(a.input) do
    rows[#rows + 1] = { "--" .. f.name, type_text(f), f.required and "required" or "",
      one_line(docs_of(d.input, f.name), 60) }
  end
  if #rows == 0 then rows[1] = { "(none)" } end
  for _, r in ipairs(rows) do
    out:write(("  %-28s %-26s %-8s %s\n"):format(r[1], r[2] or "", r[3] or "", r[4] or ""))
  end
  out:write("\noutput:\n")
  for _, f in ipairs(a.output) do
    out:write(("  %-28s %-26s %s\n"):format(f.name, type_text(f), one_line(docs_of(d.output, f.name), 60)))
  end
  for _, f in ipairs(a.input) do
    if f.struct then
      local s = model.structs[f.type]
      local sd = docs.structs[f.type].fields
      out:write(("\n%s (a JSON object):\n"):format(f.type))
      for _, g in ipairs(s.fields) do
        out:write(("  %-28s %-26s %s\n"):format(g.name, type_text(g), one_line(docs_of(sd, g.name), 60)))
      end
    end
  end
  return 0
end

--- all(ctx) -> status: the usage, then every action with its purpose, by category.
function M.all(ctx)
  ctx.out:write(M.text, "\nactions (tcssl help ACTION for parameters):\n")
  local docs = require("tcssl.model_docs").actions
  local by_category, categories = {}, {}
  for _, name in ipairs(schema.actions()) do
    local c = docs[name].category or ""
    if not by_category[c] then by_category[c], categories[#categories + 1] = {}, c end
    table.insert(by_category[c], name)
  end
  table.sort(categories)
  for _, c in ipairs(categories) do
    ctx.out:write("\n  ", c, "\n")
    for _, name in ipairs(by_category[c]) do
      ctx.out:write(("    %-44s %s\n"):format(name, docs[name].purpose or ""))
    end
  end
  return 0
end

--- run(ctx, words) -> status: `tcssl help [ACTION | COMMAND]`.
function M.run(ctx, words)
  local topic = words[1]
  local usage = topic and require("tcssl.cli").usage_of(topic)
  if usage then
    ctx.out:write(usage)
    return 0
  end
  if topic then return M.action(ctx, topic) end
  return M.all(ctx)
end

return M
