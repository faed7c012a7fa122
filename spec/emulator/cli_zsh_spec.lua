-- `tcssl completion zsh` in a real zsh: the script is installed as _tcssl in a folder of
-- $fpath, compinit finds it by its #compdef line, and an interactive `zsh -f` on a pseudo
-- terminal (zsh/zpty) is sent a command line and a TAB, then a key whose widget writes the
-- line as zle left it. compadd is wrapped to log what the completion offered. Each zsh run
-- is bounded by timeout(1) and a bounded poll; zsh comes from make deps.
local util = require "spec.support.util"

local quote = util.quote
local tmp

setup(function()
  tmp = util.temp_dir("zsh")
end)

teardown(function() util.remove_dir(tmp) end)

-- The driver, run as `zsh -f driver DIR OUT`, then the lines to complete, one argument each.
local DRIVER = [=[
dir=$1 out=$2
shift 2
: >$out
zmodload zsh/zpty || exit 3
zpty z zsh -f -i || exit 3
zpty -w z "PS1='> '; unsetopt beep autolist listambiguous; fpath=($dir \$fpath)"
zpty -w z "autoload -Uz compinit; compinit -u -D"
zpty -w z "compadd() { print -r -- \"offered \$*\" >>$out; builtin compadd \"\$@\" }"
zpty -w z "dumpline() { print -r -- \"line <\$BUFFER>\" >>$out; BUFFER='' }; zle -N dumpline; bindkey '^T' dumpline"
for line in "$@"; do
  zpty -w -n z "$line"$'\t'$'\x14'
done
# wait (bounded) until every line was written out, reading the terminal so it never fills
local -a done_lines
for i in {1..1000}; do
  while zpty -r -t z junk; do :; done
  done_lines=(${(M)${(f)"$(<$out)"}:#line <*})
  (( ${#done_lines} >= $# )) && break
  sleep 0.02
done
zpty -w z "exit"
zpty -d z
]=]

-- Completes each line in one zsh; returns the line zle left for each, and the words offered.
local function complete(lines)
  local script = assert(util.lines("lua5.4 bin/tcssl completion zsh 2>&1"))
  util.write(tmp .. "/_tcssl", table.concat(script, "\n") .. "\n")
  util.write(tmp .. "/driver.zsh", DRIVER)
  local out = tmp .. "/out"
  os.remove(out)
  local words = {}
  for i, l in ipairs(lines) do words[i] = quote(l) end
  local status, text = util.sh(("env -u LD_PRELOAD timeout 30 zsh -f %s %s %s %s"):format(quote(tmp .. "/driver.zsh"),
    quote(tmp), quote(out), table.concat(words, " ")))
  local log = util.read(out) or ""
  assert(status == 0, "zsh exited " .. tostring(status) .. ": " .. text .. log)
  local results, offered = {}, {}
  for l in log:gmatch("[^\n]+") do
    local line = l:match("^line <(.*)>$")
    if line then results[#results + 1] = line end
    local o = l:match("^offered (.*)$")
    if o then offered[#offered + 1] = o end
  end
  assert(#results == #lines, "zsh completed " .. #results .. " of " .. #lines .. " lines: " .. log)
  return results, table.concat(offered, "\n")
end

describe("tcssl completion zsh in zsh", function()
  it("completes actions, their parameters, options and option values through compinit", function()
    assert(util.run("command -v zsh"), "zsh is missing (make deps installs it)")
    local lines, offered = complete{
      "tcssl ssl DescribeCertificateDet",
      "tcssl --region ap-guangzhou ssl DescribeCertificates --Lim",
      "tcssl renew --resource-t",
      "tcssl DescribeCertificates --output ta",
      "tcssl CertG",
      "tcssl CertUpload --certT",
      "tcssl completion z",
      "tcssl DescribeCertificat",
    }
    assert.same({
      "tcssl ssl DescribeCertificateDetail ",
      "tcssl --region ap-guangzhou ssl DescribeCertificates --Limit ",
      "tcssl renew --resource-types ",
      "tcssl DescribeCertificates --output table ",
      "tcssl CertGetList ",
      "tcssl CertUpload --certType ",
      "tcssl completion zsh ",
      "tcssl DescribeCertificate", -- ambiguous: the common part, and the choices offered
    }, lines)
    assert.truthy(offered:find("-- json table text", 1, true), offered)
    assert.truthy(offered:find(" DescribeCertificates ", 1, true), offered)
  end)
end)
