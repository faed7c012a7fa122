#!/usr/bin/env lua5.4
--[=[ tools/gen-facts.lua: read the SSL Certificates API reference into model/facts.lua, the
normalised form tools/gen-model.lua builds the runtime model and its docs from (`make model-facts`).

  lua5.4 tools/gen-facts.lua [SEED [OUT]] [-v] [--overrides FILE]

  SEED  the reference text; default ../shared/seeds/004_6ca79b59cc431531.txt relative to the
        repository root, then /work/shared/seeds/004_6ca79b59cc431531.txt
  OUT   where the facts go; default model/facts.lua in the repository; "-" = standard output
  -v    also list on standard error every note (contradictions found and how they were read)
  --overrides FILE  what the documents' text does not give (default tools/model-overrides.lua)

The seed was extracted from a PDF: tables are flattened, a cell that wraps continues on the next
line, and a page break may drop the page's title block, its link URLs, a footer and a repeated
table header anywhere, even inside a JSON example. The generator works in passes, each in a
module of tools/facts/; facts/assemble.lua runs them in order:

  pass                                                                   module
  1.  read     the seed's lines, keeping their numbers for messages      document.lua
  2.  clean    drop page furniture, trim, drop blank lines               document.lua
  3.  split    parameter types, API overview, action sections, data
               structures, legacy part                                   document.lua
  4a. parse    the parameter types; the API overview (purposes,
               categories, rate limits); the read-only marks             overview.lua
  4b.          tables into rows (name, required, type, description,
               example value, null note)                                 tables.lua
  4c.          the JSON examples                                         examples.lua
  4d.          the action sections                                       actions.lua
  4e.          the data structures                                       structs.lua
  4f, 5.       the legacy 2017 API, its nesting and the types its
               examples contradict                                       legacy.lua
  6.  check    counts, rate limits, references, types, examples
               against the tables                                        check.lua
  6b. derive   the facts the documents give in prose, with
               tools/model-overrides.lua (each entry checked against
               the documents): how actions page                          paging.lua
               the status values                                         enums.lua
  7.  emit     a plain Lua table (Lua 5.1 and 5.4 syntax), keys in a
               fixed order, no timestamps                                emit.lua

Every pass reports to report.lua; a problem is printed and the generator exits with status 1
before writing anything. strings.lua holds the string helpers, fields.lua the model's field
records, and counts.lua the counts that every generated file's header states (tools/gen-model.lua
uses it too).
]=]

-- The modules are found next to this script, wherever it is run from.
local tools = (arg and arg[0] or "tools/gen-facts.lua"):match("^(.*)/[^/]*$") or "."
package.path = tools .. "/?.lua;" .. package.path

local luadata = require "luadata"
local report = require "facts.report"
local document = require "facts.document"
local assemble = require "facts.assemble"
local emit = require "facts.emit"

-- The document the facts are read from; its name is written into the facts, and the default
-- seed is looked for by it.
local SEED_NAME = "004_6ca79b59cc431531.txt"

local function main(args)
  local positional, verbose, overrides_path = {}, false, nil
  local i = 1
  while args[i] do
    local a = args[i]
    if a == "-v" then verbose = true
    elseif a == "--overrides" then
      i = i + 1
      overrides_path = args[i]
    else positional[#positional + 1] = a end
    i = i + 1
  end
  local root = tools .. "/.."
  local seed = positional[1]
  local raw, err
  if seed then
    raw, err = document.read_lines(seed)
  else
    for _, candidate in ipairs({ root .. "/../shared/seeds/" .. SEED_NAME, "/work/shared/seeds/" .. SEED_NAME }) do
      raw, err = document.read_lines(candidate)
      if raw then break end
    end
  end
  if not raw then
    io.stderr:write("gen-facts: cannot read the seed: ", tostring(err), "\n")
    os.exit(1)
  end
  overrides_path = overrides_path or (tools .. "/model-overrides.lua")
  local overrides, oerr = luadata.load(overrides_path)
  if not overrides then
    io.stderr:write("gen-facts: cannot load ", overrides_path, ": ", tostring(oerr), "\n")
    os.exit(1)
  end
  local model = assemble.build(raw, overrides)
  report.fail_if_problems()
  local text, c = emit.render(model, SEED_NAME)
  -- what is written must load back as data, as gen-model.lua and the specs load it
  local chunk = load(text, "=facts", "t", {})
  if not chunk or type(chunk()) ~= "table" then error("gen-facts: the rendered facts do not load back") end
  luadata.write(positional[2] or (root .. "/model/facts.lua"), text)
  local notes = report.notes
  if verbose then
    for _, n in ipairs(notes) do io.stderr:write("note: ", n, "\n") end
  end
  io.stderr:write(("gen-facts: %d actions, %d structs, %d input parameters, %d output fields, "
    .. "%d struct fields, %d legacy actions; %d notes%s\n"):format(c.actions, c.structs, c.input, c.output,
    c.struct_fields, c.legacy, #notes, verbose and "" or " (-v lists them)"))
end

main(arg or {})
