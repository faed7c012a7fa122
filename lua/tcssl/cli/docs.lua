-- tcssl.cli.docs: the tcssl command described for other tools, from the same sources as its
-- --help (tcssl.cli.help's text, each job's usage, the global options of tcssl.cli, the API
-- model):
--   `tcssl man`               the manual page tcssl.1 (roff); `make install` installs it
--   `tcssl completion bash`   a bash completion script (source it, or install it as
--   `tcssl completion zsh`    .../bash-completion/completions/tcssl, or _tcssl for zsh)
-- Nothing is kept apart from those sources, so they cannot drift from --help.

local schema = require "tcssl.schema"

local M = {}

-- The job commands, in the order the usage lists them.
local JOBS = { "renew", "expiring", "issue-free", "download", "configure" }

local function cli() return require "tcssl.cli" end

-------------------------------------------------------------------------------
-- The manual page
-------------------------------------------------------------------------------

-- roff: backslashes doubled, a leading . or ' made literal, hyphens of options as \-.
local function roff(text)
  text = text:gsub("\\", "\\e"):gsub("%-", "\\-")
  return (text:gsub("^([%.'])", "\\&%1"):gsub("\n([%.'])", "\n\\&%1"))
end

-- The blocks of the usage text: { title = "options:" | nil, lines = { ... } }, split at blank
-- lines and at lines ending in ":" that start a block.
local function blocks(text)
  local out, current = {}, nil
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    if line == "" then
      current = nil
    elseif not current then
      current = { lines = {} }
      if line:find(":$") and not line:find("^%s") then current.title = line else current.lines[1] = line end
      out[#out + 1] = current
    else
      current.lines[#current.lines + 1] = line
    end
  end
  return out
end

-- The entries of an options block: "  --name ARG   text" and its indented continuation lines.
local function entries(lines)
  local out = {}
  for _, line in ipairs(lines) do
    local term, text = line:match("^  (%S.-)%s%s+(%S.*)$")
    if line:find("^  %S") and not term then term, text = line:match("^  (%S.*)$"), "" end
    if term and line:find("^  %S") then
      out[#out + 1] = { term = term, text = text }
    elseif #out > 0 then
      out[#out].text = out[#out].text .. " " .. line:gsub("^%s+", "")
    end
  end
  return out
end

--- man() -> the text of tcssl.1.
function M.man()
  local help = require "tcssl.cli.help"
  local tcssl = require "tcssl"
  local parts = {}
  local function add(s) parts[#parts + 1] = s end
  add(('.TH TCSSL 1 "" "tcssl %s" "User Commands"\n'):format((tcssl._VERSION or ""):gsub("^tcssl ", "")))
  add(".SH NAME\ntcssl \\- the Tencent Cloud SSL Certificates API from the shell\n")
  for _, b in ipairs(blocks(help.text)) do
    local title = b.title
    if not title and b.lines[1]:find("^usage:") then
      add(".SH SYNOPSIS\n.nf\n")
      for _, line in ipairs(b.lines) do
        -- the forms only: the descriptions beside them are the commands' own sections
        local form = line:gsub("^usage: ", ""):gsub("^%s+", ""):gsub("%s%s+.*$", "")
        if form:find("^tcssl") then add(roff(form) .. "\n") end
      end
      add(".fi\n")
    elseif title then
      add(".SH " .. title:gsub(":$", ""):upper() .. "\n")
      for _, e in ipairs(entries(b.lines)) do
        add(".TP\n.B " .. roff(e.term) .. "\n" .. roff(e.text) .. "\n")
      end
    else
      add(".PP\n" .. roff(table.concat(b.lines, "\n")) .. "\n")
    end
  end
  add(".SH COMMANDS\n")
  for _, name in ipairs(JOBS) do
    add(".SS " .. name .. "\n.nf\n" .. roff((cli().usage_of(name):gsub("\n+$", ""))) .. "\n.fi\n")
  end
  add(".SH ACTIONS\nEach takes its parameters as \\fB\\-\\-Name value\\fR; "
    .. "\\fBtcssl help\\fR \\fIAction\\fR lists them.\n")
  local docs = require("tcssl.model_docs").actions
  for _, name in ipairs(schema.actions()) do
    add(".TP\n.B " .. name .. "\n" .. roff(docs[name].purpose or "") .. "\n")
  end
  for _, name in ipairs(require("tcssl.cli.call").legacy_actions()) do
    add(".TP\n.B " .. name .. "\n" .. roff("an action of the legacy 2017 API") .. "\n")
  end
  add(".SH FILES\n.TP\n.B ~/.tencentcloud/credentials\nINI keys (secret_id, secret_key, token) by profile; "
    .. "\\fBtcssl configure\\fR writes it.\n.TP\n.B ~/.tccli/\\fINAME\\fB.credential\\fR, "
    .. "\\fB~/.tccli/\\fINAME\\fB.configure\ntccli's profile: keys, region and output, read after tcssl's own.\n")
  add(".SH SEE ALSO\n\\fBtcssl help\\fR, \\fBtcssl completion bash\\fR|\\fBzsh\\fR\n")
  return table.concat(parts)
end

-------------------------------------------------------------------------------
-- Completion
-------------------------------------------------------------------------------

-- The options of a job command (its module's `options`).
local function job_options(name)
  local out = {}
  for opt in pairs(cli().options_of(name)) do out[#out + 1] = "--" .. opt end
  table.sort(out)
  return out
end

-- Every word a command takes after it: { [command] = { "--Opt", ... } }, and the commands.
local function model_words()
  local model = schema.model()
  local commands, params = {}, {}
  for _, name in ipairs(schema.actions()) do
    commands[#commands + 1] = name
    local list = {}
    for _, f in ipairs(model.actions[name].input) do list[#list + 1] = "--" .. f.name end
    params[name] = list
  end
  for name, a in pairs(model.legacy.actions) do
    commands[#commands + 1] = name
    local list = {}
    for _, f in ipairs(a.input) do list[#list + 1] = "--" .. f.name end
    params[name] = list
  end
  for _, name in ipairs(JOBS) do
    commands[#commands + 1] = name
    params[name] = job_options(name)
  end
  commands[#commands + 1] = "help"
  commands[#commands + 1] = "emulator"
  commands[#commands + 1] = "completion"
  commands[#commands + 1] = "man"
  commands[#commands + 1] = "ssl"
  table.sort(commands)
  return commands, params
end

local function globals()
  local flags, valued = {}, {}
  for name, kind in pairs(cli().GLOBAL) do
    flags[#flags + 1] = "--" .. name
    if kind == "value" then valued[#valued + 1] = "--" .. name end
  end
  table.sort(flags)
  table.sort(valued)
  return flags, valued
end

-- Values the completion offers after an option.
local VALUES = { ["--output"] = "json table text", ["--scheme"] = "https http", ["--language"] = "zh-CN en-US" }

-- What differs between the two shells' scripts; the rest is shared (script() below). %s are
-- filled in order: the global options, the command names, a command's words.
local SHELLS = {
  bash = {
    head = "# bash completion for tcssl; generated by `tcssl completion bash` from its model and options.\n"
      .. "_tcssl() {\n  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd='' i w\n"
      .. "  local globals='%s' commands='%s'\n",
    value = "COMPREPLY=($(compgen -W '%s' -- \"$cur\")); return",
    free_value = "COMPREPLY=(); return",
    loop = "  for ((i = 1; i < COMP_CWORD; i++)); do\n    w=${COMP_WORDS[i]}\n",
    skip = "i=$((i + 1))",
    no_command = "COMPREPLY=($(compgen -W \"$commands $globals\" -- \"$cur\"))",
    words = "words='%s'",
    all_commands = "words=$commands",
    declare = "  local words=''\n",
    tail = "  COMPREPLY=($(compgen -W \"$words $globals\" -- \"$cur\"))\n}\ncomplete -o default -F _tcssl tcssl\n",
  },
  zsh = {
    head = "#compdef tcssl\n"
      .. "# zsh completion for tcssl; generated by `tcssl completion zsh` from its model and options.\n"
      .. "_tcssl() {\n  local prev=${words[CURRENT-1]} cmd='' i w\n"
      .. "  local -a globals commands params\n  globals=(%s)\n  commands=(%s)\n",
    value = "compadd -- %s; return",
    free_value = "_files; return",
    loop = "  for ((i = 2; i < CURRENT; i++)); do\n    w=${words[i]}\n",
    skip = "((i++))",
    no_command = "compadd -- $commands $globals",
    words = "params=(%s)",
    all_commands = "params=($commands)",
    declare = "",
    tail = "  compadd -- $params $globals\n}\n_tcssl \"$@\"\n",
  },
}

local function script(sh)
  local commands, params = model_words()
  local flags, valued = globals()
  local any_valued = table.concat(valued, "|")
  local out = { sh.head:format(table.concat(flags, " "), table.concat(commands, " ")), "  case $prev in\n" }
  local value_names = {}
  for k in pairs(VALUES) do value_names[#value_names + 1] = k end
  table.sort(value_names)
  for _, k in ipairs(value_names) do
    out[#out + 1] = ("    %s) %s ;;\n"):format(k, sh.value:format(VALUES[k]))
  end
  out[#out + 1] = ("    %s) %s ;;\n  esac\n"):format(any_valued, sh.free_value)
  -- the command is the first word that is not an option, an option's value or "ssl"
  out[#out + 1] = sh.loop .. "    case $w in\n"
  out[#out + 1] = ("      %s) %s ;;\n"):format(any_valued, sh.skip)
  out[#out + 1] = "      ssl|-*) ;;\n      *) cmd=$w; break ;;\n    esac\n  done\n"
  out[#out + 1] = ("  if [[ -z $cmd ]]; then\n    %s\n    return\n  fi\n"):format(sh.no_command)
  out[#out + 1] = sh.declare .. "  case $cmd in\n"
  for _, name in ipairs(commands) do
    if params[name] and #params[name] > 0 then
      out[#out + 1] = ("    %s) %s ;;\n"):format(name, sh.words:format(table.concat(params[name], " ")))
    end
  end
  out[#out + 1] = ("    completion) %s ;;\n"):format(sh.words:format("bash zsh"))
  out[#out + 1] = ("    help) %s ;;\n  esac\n"):format(sh.all_commands)
  out[#out + 1] = sh.tail
  return table.concat(out)
end

--- completion(shell) -> the script for "bash" or "zsh", or nil.
function M.completion(shell)
  local sh = SHELLS[shell]
  return sh and script(sh) or nil
end

return M
