-- bin/tcssl against the emulator: actions with every kind of parameter, output formats, help,
-- the commands, and the exit statuses (tcssl.cli.EXIT: 0 success, 1 API error, 2 usage error,
-- 3 expiring found some, 4 credentials, 5 network, 6 rate limit) with their one-prefix messages.
local json = require "tcssl.json"
local cjson = require "cjson"
local emu = require "spec.support.emulator"
local certgen = require "spec.support.certgen"
local util = require "spec.support.util"

local ID, KEY = "AKIDCLISPEC000000000000000000000000", "cli-spec-secret-key-000000000000"

local server, tmp

local quote, read, write, sh = util.quote, util.read, util.write, util.sh
local mode, is_link, listing = util.mode, util.is_link, util.listing

-- The start of a command line: the emulator's endpoint and keys, a private HOME, and extra
-- environment. Children run without the sanitizer preload of `make asan` (their exit status
-- is checked).
local function env_words(env)
  local parts = { "env -u LD_PRELOAD -u ASAN_OPTIONS", "TENCENTCLOUD_SECRET_ID=" .. ID,
    "TENCENTCLOUD_SECRET_KEY=" .. quote(KEY), "TCSSL_ENDPOINT=" .. server.host, "TCSSL_SCHEME=http",
    "TENCENTCLOUD_REGION=ap-guangzhou", "HOME=" .. quote(tmp),
    "LUA_PATH=" .. quote("lua/?.lua;lua/?/init.lua;;"), "LUA_CPATH=" .. quote("lua/?.so;;") }
  for k, v in pairs(env or {}) do parts[#parts + 1] = k .. "=" .. quote(v) end
  return parts
end

-- Runs a shell command line after env_words(env), stderr with stdout: status, output.
local function shell(command, env)
  local parts = env_words(env)
  parts[#parts + 1] = command .. " 2>&1; echo __rc=$?"
  local p = assert(io.popen(table.concat(parts, " "), "r"))
  local out = p:read("a")
  p:close()
  return tonumber(out:match("__rc=(%d+)")), out
end

-- Runs bin/tcssl with words (a list) and extra environment; returns status, stdout, stderr.
local function run(words, env, stdin)
  local parts = env_words(env)
  parts[#parts + 1] = "lua5.4 bin/tcssl"
  for _, w in ipairs(words) do parts[#parts + 1] = quote(w) end
  local err_path = tmp .. "/stderr"
  local cmd = table.concat(parts, " ") .. " 2>" .. quote(err_path) .. " <" .. quote(stdin or "/dev/null")
    .. "; echo \"__rc=$?\""
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("a")
  p:close()
  local rc = tonumber(out:match("__rc=(%d+)\n$"))
  return rc, out:gsub("__rc=%d+\n$", ""), read(err_path) or ""
end

local function decode(text)
  return assert(json.decode(text), "not JSON: " .. text)
end

setup(function()
  server = emu.start{ keys = { [ID] = { secret_key = KEY } } }
  tmp = util.temp_dir("cli")
end)

teardown(function()
  if server then server:stop() end
  util.remove_dir(tmp)
end)

before_each(function() server:reset() end)

local function upload_pair(leaf)
  write(tmp .. "/cert.pem", leaf.fullchain)
  write(tmp .. "/key.pem", leaf.key_pem)
  local rc, out, err = run{ "UploadCertificate", "--CertificatePublicKey", "file://" .. tmp .. "/cert.pem",
    "--CertificatePrivateKey", "file://" .. tmp .. "/key.pem", "--Alias", "from the cli" }
  assert.equal(0, rc, err)
  return decode(out).CertificateId
end

describe("tcssl <Action>", function()
  it("calls an action with strings from files, and prints JSON in the model's field order", function()
    local leaf = certgen.leaf{ cn = "cli.example.com" }
    local id = upload_pair(leaf)
    assert.matches("^%w+$", id)
    local rc, out, err = run{ "DescribeCertificate", "--CertificateId", id }
    assert.equal(0, rc, err)
    assert.equal("", err)
    local res = decode(out)
    assert.same({ id, "from the cli", "cli.example.com" }, { res.CertificateId, res.Alias, res.Domain })
    assert.is_true(out:find('"OwnerUin"', 1, true) < out:find('"ProjectId"', 1, true)) -- model order
    assert.matches('\n  "RequestId": "[%x%-]+"\n}\n$', out)
  end)

  it("takes integers, booleans, arrays as words or JSON, objects as JSON, and --cli-input-json", function()
    local a = upload_pair(certgen.leaf{ cn = "one.example.com" })
    local b = upload_pair(certgen.leaf{ cn = "two.example.com" })
    local rc, out = run{ "DescribeCertificates", "--CertIds", a, b, "--Limit", "1" }
    assert.equal(0, rc)
    local res = decode(out)
    assert.same({ 2, 1 }, { res.TotalCount, #res.Certificates })
    rc, out = run{ "DescribeCertificates", "--CertIds=" .. cjson.encode{ a },
      "--Tags", '[{"TagKey":"k","TagValue":"v"}]' }
    assert.equal(0, rc)
    assert.equal(0, decode(out).TotalCount)
    write(tmp .. "/input.json", cjson.encode{ SearchKey = "two", Limit = 5 })
    rc, out = run{ "--cli-input-json", tmp .. "/input.json", "DescribeCertificates", "--Limit", "1" }
    assert.equal(0, rc)
    assert.equal(b, decode(out).Certificates[1].CertificateId)
    rc, out = run({ "DescribeCertificates", "--cli-input-json", "-" }, nil, tmp .. "/input.json")
    assert.equal(0, rc)
    assert.equal(1, decode(out).TotalCount)
    rc = run{ "DeleteCertificate", "--CertificateId", a, "--IsCheckResource", "false" }
    assert.equal(0, rc)
  end)

  it("prints a table on request", function()
    local id = upload_pair(certgen.leaf{ cn = "table.example.com" })
    local rc, out = run{ "DescribeCertificates", "--output", "table" }
    assert.equal(0, rc)
    assert.matches("TotalCount%s+1", out)
    assert.matches("CertificateId", out)
    assert.matches(id .. "%s+table%.example%.com", out)
  end)

  it("aligns table columns by terminal cells, two for each CJK character", function()
    local output = require "tcssl.cli.output"
    assert.same({ 8, 3, 0, 2 }, { output.width("默认项目"), output.width("abc"), output.width(""),
      output.width("ｘ") })
    assert.equal(1, output.width("e\204\129")) -- e and a combining acute accent
    assert.equal("默认项...", output.shorten("默认项目默认项目", 10))
    local leaf = certgen.leaf{ cn = "wide.example.com" }
    write(tmp .. "/cert.pem", leaf.fullchain)
    write(tmp .. "/key.pem", leaf.key_pem)
    for _, alias in ipairs{ "证书别名", "ab" } do
      local rc = run{ "UploadCertificate", "--CertificatePublicKey", "file://" .. tmp .. "/cert.pem",
        "--CertificatePrivateKey", "file://" .. tmp .. "/key.pem", "--Alias", alias, "--Repeatable", "true" }
      assert.equal(0, rc)
    end
    local rc, out = run{ "DescribeCertificates", "--output", "table" }
    assert.equal(0, rc)
    -- the columns after the CJK ones (Alias, StatusName) start at the same cell on every row
    local starts = {}
    for line in out:gmatch("[^\n]+") do
      local at = line:find("CertificateType", 1, true) or line:find("SVR", 1, true)
      if at then starts[#starts + 1] = output.width(line:sub(1, at - 1)) end
    end
    assert.equal(3, #starts, out)
    assert.truthy(out:find("证书别名", 1, true), out)
    assert.same({ starts[1], starts[1] }, { starts[2], starts[3] }, out)
  end)

  it("exits 2 for usage errors, with the reason on stderr", function()
    local cases = {
      { { "DescribeCertificates", "--Limt", "5" }, "did you mean Limit" },
      { { "DescribeCertificates", "--Limit", "five" }, "takes an integer" },
      { { "DescribeCertificates", "--Limit" }, "needs a value" },
      { { "DeleteCertificate", "--CertificateId", "x", "--IsCheckResource", "maybe" }, "true or false" },
      { { "DescribeCertificates", "--CertIds", "[1," }, "JSON array" },
      { { "DescribeCertificates", "--output", "yaml" }, "json, table or text" },
      { { "DescribeCertificates", "--cli-input-json", "/nonexistent" }, "cannot read" },
      { { "DescribeCertificates", "stray" }, "unexpected" },
      { { "DescribeCertificatez" }, "did you mean DescribeCertificate" },
      { { "DeleteCertificate" }, "CertificateId" }, -- missing required parameter
      { {}, "usage: tcssl" },
      { { "renew", "--cert", "x" }, "--key" },
      { { "expiring", "--days", "soon" }, "number" },
      { { "download" }, "--id" },
      { { "renew", "--bogus" }, "unknown option" },
    }
    for _, case in ipairs(cases) do
      local rc, out, err = run(case[1])
      local label = table.concat(case[1], " ")
      assert.equal(2, rc, label .. ": " .. err)
      assert.equal("", out, label)
      assert.truthy(err:find(case[2], 1, true), label .. ": " .. err)
    end
  end)

  it("exits 1 for API and network errors, with the code and RequestId on stderr", function()
    local rc, out, err = run{ "DescribeCertificate", "--CertificateId", "nothere1" }
    assert.equal(1, rc)
    assert.equal("", out)
    assert.matches("^tcssl: FailedOperation%.CertificateNotFound: .* %(RequestId [%x%-]+%)\n$", err)
    -- credentials the API rejects, and none at all: 4
    rc, out, err = run({ "DescribeCertificates" }, { TENCENTCLOUD_SECRET_KEY = "wrong-key-wrong-key" })
    assert.equal("", out)
    assert.equal(4, rc)
    assert.matches("^tcssl: AuthFailure%.SignatureFailure", err)
    -- --debug names the action and the refusal's code on the request's line
    rc, out, err = run({ "DescribeCertificates", "--debug" }, { TENCENTCLOUD_SECRET_KEY = "wrong-key-wrong-key" })
    assert.equal(4, rc)
    assert.equal("", out)
    assert.matches("tcssl: DescribeCertificates POST http://[^\n]* error=AuthFailure%.SignatureFailure\n", err)
    assert.is_nil(err:find("wrong-key", 1, true))
    rc, out, err = run{ "DescribeCertificates", "--profile", "nothere" }
    assert.equal("", out)
    assert.equal(4, rc, err)
    assert.matches("^tcssl: credentials error NoCredentials: ", err)
    -- no answer: 5
    rc, out, err = run({ "DescribeCertificates", "--timeout", "2" },
      { TCSSL_ENDPOINT = "127.0.0.1:" .. emu.free_port() })
    assert.equal("", out)
    assert.equal(5, rc)
    assert.matches("^tcssl: network error ", err)
    -- the rate limit, past the client's retries: 6
    server:fault{ type = "api_error", code = "RequestLimitExceeded", count = 10 }
    rc, out, err = run{ "DescribeCertificates" }
    assert.equal("", out)
    assert.equal(6, rc, err)
    assert.matches("^tcssl: RequestLimitExceeded", err)
    -- one prefix on tcssl's own errors
    rc, out, err = run{ "DeleteCertificate" }
    assert.equal(2, rc)
    assert.equal("", out)
    assert.matches("^tcssl: validation error MissingParameter: missing required parameter CertificateId", err)
    assert.is_nil(err:find("tcssl: tcssl", 1, true))
  end)

  it("explains every action from the model", function()
    local rc, out = run{ "help" }
    assert.equal(0, rc)
    local n = 0
    for _ in out:gmatch("\n    %u%w+ ") do n = n + 1 end
    assert.equal(68, n)
    rc, out = run{ "help", "UpdateCertificateInstance" }
    assert.equal(0, rc)
    assert.matches("%-%-OldCertificateId%s+String%s+required", out)
    assert.matches("%-%-ResourceTypes%s+Array of String", out)
    assert.matches("ResourceTypeRegions %(a JSON object%)", out)
    assert.matches("DeployRecordId", out)
    rc, out = run{ "DescribeCertificates", "--help" }
    assert.equal(0, rc)
    assert.matches("%-%-Limit", out)
    rc, out = run{ "renew", "--help" }
    assert.equal(0, rc)
    assert.matches("RENEWED_LINEAGE", out)
    rc, out = run{ "--version" }
    assert.equal(0, rc)
    assert.matches("^tcssl %d", out)
  end)
end)

describe("tcssl commands", function()
  local mid

  setup(function() mid = certgen.ca("tcssl cli intermediate", certgen.ca("tcssl cli root")) end)

  -- A certbot lineage directory holding leaf's fullchain.pem and privkey.pem.
  local function lineage_with(name, leaf)
    local dir = tmp .. "/" .. name
    os.execute("mkdir -p " .. quote(dir))
    write(dir .. "/fullchain.pem", leaf.fullchain)
    write(dir .. "/privkey.pem", leaf.key_pem)
    return dir
  end

  local function prepare_renewal()
    local old = certgen.leaf{ cn = "hook.example.com", issuer = mid, days = 10 }
    local new = certgen.leaf{ cn = "hook.example.com", issuer = mid, days = 90 }
    local old_id = upload_pair(old)
    local _, status = server:control("POST", "resources", cjson.encode{ resources = {
      { ResourceType = "clb", InstanceId = "lb-cli", ListenerId = "lbl-cli", Region = "ap-guangzhou",
        CertificateId = old_id },
      { ResourceType = "cdn", InstanceId = "hook.example.com", Domains = { "hook.example.com" },
        CertificateId = old_id },
    } })
    assert.equal(200, status)
    return old_id, new
  end

  it("renews as a certbot deploy hook, and a second run changes nothing", function()
    local old_id, new = prepare_renewal()
    local lineage = lineage_with("live", new)
    local env = { RENEWED_LINEAGE = lineage, TCSSL_REPLACE = old_id }
    local rc, out, err = run({ "renew", "--poll-interval", "0.1" }, env)
    assert.equal(0, rc, err)
    assert.equal("", err) -- no progress line: stderr is not a terminal
    assert.matches("ok%s+upload%s+uploaded as %w+", out)
    assert.matches("clb%s+lb%-cli/lbl%-cli%s+ap%-guangzhou%s+success", out)
    assert.matches("renew: done", out)
    rc, out = run({ "renew", "--output", "json" }, env)
    assert.equal(0, rc)
    local report = decode(out)
    assert.same({ true, true, false }, { report.Ok, report.NothingToDo, report.Uploaded })
  end)

  it("exits 1 when a later renewal with a fixed --replace finds nothing on either certificate", function()
    local old_id, first = prepare_renewal()
    local lineage = lineage_with("live2", first)
    local env = { RENEWED_LINEAGE = lineage, TCSSL_REPLACE = old_id }
    local rc, _, err = run({ "renew", "--poll-interval", "0.1" }, env)
    assert.equal(0, rc, err)
    -- the next renewal: the resources are on the first renewal's certificate, not on old_id
    local second = certgen.leaf{ cn = "hook.example.com", issuer = mid, days = 90 }
    write(lineage .. "/fullchain.pem", second.fullchain)
    write(lineage .. "/privkey.pem", second.key_pem)
    local out
    rc, out, err = run({ "renew", "--poll-interval", "0.1" }, env)
    assert.equal(1, rc, out)
    assert.matches("no resource uses " .. old_id, err)
    assert.matches("warning: no resource uses", out)
    rc, out = run({ "renew", "--poll-interval", "0.1", "--allow-unbound", "--output", "json" }, env)
    assert.equal(0, rc)
    local report = decode(out)
    assert.same({ true, true, true }, { report.Ok, report.NothingToDo, report.Unbound })
  end)

  it("keeps renewing through examples/deploy-hook.sh, as certbot's hook and as acme.sh's", function()
    local old_id, first = prepare_renewal()
    -- `tcssl` on PATH runs this checkout's CLI
    local bin = tmp .. "/bin"
    os.execute("mkdir -p " .. quote(bin))
    write(bin .. "/tcssl", "#!/bin/sh\nexec lua5.4 " .. quote(os.getenv("PWD") .. "/bin/tcssl") .. " \"$@\"\n")
    os.execute("chmod +x " .. quote(bin .. "/tcssl"))
    local map = tmp .. "/certificates"
    write(map, "hook-lineage " .. old_id .. "\n")
    local lineage = lineage_with("live/hook-lineage", first)
    local function hook(env, args)
      env.PATH, env.TCSSL_MAP = bin .. ":" .. os.getenv("PATH"), map
      return shell("sh examples/deploy-hook.sh " .. (args or ""), env)
    end
    local function on_clb()
      local res = assert(server:control("GET", "resources"))
      for _, r in ipairs(res.resources) do
        if r.ResourceType == "clb" then return r.CertificateId end
      end
    end
    -- certbot: RENEWED_LINEAGE names the lineage
    local rc, out = hook({ RENEWED_LINEAGE = lineage })
    assert.equal(0, rc, out)
    local first_id = read(map):match("^hook%-lineage (%w+)")
    assert.are_not.equal(old_id, first_id)
    assert.equal(first_id, on_clb())
    -- acme.sh, the next renewal: the domain as argument, the files in CERT_*_PATH
    local second = certgen.leaf{ cn = "hook.example.com", issuer = mid, days = 90 }
    write(tmp .. "/acme.fullchain", second.fullchain)
    write(tmp .. "/acme.key", second.key_pem)
    rc, out = hook({ CERT_FULLCHAIN_PATH = tmp .. "/acme.fullchain", CERT_KEY_PATH = tmp .. "/acme.key" },
      "hook-lineage")
    assert.equal(0, rc, out)
    local second_id = read(map):match("^hook%-lineage (%w+)")
    assert.are_not.equal(first_id, second_id)
    assert.equal(second_id, on_clb())
  end)

  it("renews from explicit files, and exits 2 for a key that does not match", function()
    local old_id, new = prepare_renewal()
    write(tmp .. "/new.crt", new.cert_pem)
    write(tmp .. "/chain.crt", mid.cert_pem)
    write(tmp .. "/new.key", new.key_pem)
    write(tmp .. "/other.key", certgen.leaf{ cn = "x.example.com" }.key_pem)
    local rc, out, err = run{ "renew", "--cert", tmp .. "/new.crt", "--key", tmp .. "/other.key", "--replace", old_id }
    assert.equal(2, rc)
    assert.matches("FAILED check%s+[^\n]*CertificateMismatch", out)
    assert.equal("", err) -- the report names the error, once
    -- a regional type with no region: the CLI's flags in the message, once
    rc, out, err = run({ "renew", "--cert", tmp .. "/new.crt", "--key", tmp .. "/new.key", "--replace", old_id,
      "--resource-types", "clb" }, { TENCENTCLOUD_REGION = "" })
    assert.equal(2, rc)
    assert.equal("", out)
    assert.matches("^tcssl: renew: clb is a regional resource type: give %-%-regions LIST or %-%-region REGION\n", err)
    assert.is_nil(err:find("resource_regions", 1, true))
    rc, out, err = run{ "renew", "--cert", tmp .. "/new.crt", "--chain", tmp .. "/chain.crt",
      "--key", tmp .. "/new.key",
      "--replace", old_id, "--resource-types", "cdn", "--no-wait", "--poll-interval", "0.1" }
    assert.equal(0, rc, err)
    assert.matches("update record %d+", out)
    rc, out = run{ "renew", "--cert", tmp .. "/new.crt", "--key", tmp .. "/new.key", "--replace", "nothere1" }
    assert.matches("FAILED old%s+[^\n]*CertificateNotFound", out)
    assert.equal(1, rc)
  end)

  it("lists expiring certificates as a table and as JSON", function()
    local soon = upload_pair(certgen.leaf{ cn = "soon.example.com", days = 5 })
    upload_pair(certgen.leaf{ cn = "far.example.com", days = 300 })
    local rc, out = run{ "expiring", "--days", "30" }
    assert.equal(3, rc) -- found something, as examples/expiring.lua says it
    assert.matches(soon .. "%s+soon%.example%.com", out)
    assert.matches("1 certificate%(s%) end within 30 days", out)
    rc, out = run{ "expiring", "--output", "json" }
    assert.equal(3, rc)
    local report = decode(out)
    assert.same({ 30, 1, soon }, { report.Days, #report.Certificates, report.Certificates[1].CertificateId })
    rc, out = run{ "expiring", "--days", "1" }
    assert.equal(0, rc)
    assert.matches("0 certificate%(s%) end within 1 days", out)
  end)

  it("runs the cron report examples/expiring.lua: exit 3 when something ends soon, 0 when not", function()
    local soon = upload_pair(certgen.leaf{ cn = "soon.example.com", days = 5 })
    upload_pair(certgen.leaf{ cn = "far.example.com", days = 300 })
    local function report(args) return shell("lua5.4 examples/expiring.lua " .. args) end
    local rc, out = report("30")
    assert.equal(3, rc, out)
    assert.truthy(out:find(soon, 1, true), out)
    assert.is_nil(out:find("far.example.com", 1, true))
    rc, out = report("30 --json")
    assert.equal(3, rc, out)
    assert.truthy(out:find('"' .. soon .. '"', 1, true), out)
    rc, out = report("1")
    assert.equal(0, rc, out)
    rc = report("soon")
    assert.equal(1, rc)
  end)

  it("issues a free certificate, publishing records with a hook, and writes the files", function()
    local hook = write(tmp .. "/hook.sh", "#!/bin/sh\necho \"$TCSSL_RECORD_TYPE $TCSSL_RECORD_NAME "
      .. "$TCSSL_RECORD_VALUE $TCSSL_CERTIFICATE_ID\" >>" .. quote(tmp .. "/published") .. "\n")
    local out_dir = tmp .. "/issued"
    local rc, out, err = run{ "issue-free", "--domain", "free.example.com", "--hook", "sh " .. hook, "--out", out_dir,
      "--poll-interval", "0.1" }
    assert.equal(0, rc, err)
    assert.matches("ok%s+download", out)
    local published = read(tmp .. "/published")
    assert.matches("^TXT _%x+%.free%.example%.com %w+ %w+\n$", published)
    assert.matches("validation record: TXT", err)
    local certs = require "tcssl.certs"
    assert.is_true(certs.key_matches(read(out_dir .. "/fullchain.pem"), read(out_dir .. "/privkey.pem")))
    assert.equal("600", mode(out_dir .. "/privkey.pem"))
    -- without a hook, --yes or a terminal it cannot go on, and says how to
    -- and refuses before it makes an order
    rc, out, err = run{ "issue-free", "--domain", "manual.example.com" }
    assert.equal("", out)
    assert.equal(2, rc)
    assert.matches("^tcssl: issue%-free: .*%-%-hook COMMAND.*%-%-yes", err)
    assert.is_nil(err:find("on_validation", 1, true))
    local _, listed = run{ "DescribeCertificates", "--SearchKey", "manual.example.com" }
    assert.equal(0, decode(listed).TotalCount)
    rc = run{ "issue-free", "--domain", "manual.example.com", "--yes", "--output", "json", "--poll-interval", "0.1" }
    assert.equal(0, rc)
  end)

  it("clears its progress line before it shows the records, on a terminal", function()
    -- script(1) gives the command a terminal; its output is what the user would see
    local words = env_words()
    words[#words + 1] = "lua5.4 bin/tcssl issue-free --domain tty.example.com --yes --poll-interval 0.1 --output json"
    local p = assert(io.popen("script -qec " .. quote(table.concat(words, " ")) .. " /dev/null </dev/null", "r"))
    local screen = p:read("a")
    p:close()
    assert.truthy(screen:find("validation record: TXT", 1, true), screen)
    for line in screen:gmatch("[^\n]+") do
      -- each record starts its own line: any progress before it was erased ("\r\27[K")
      local at = line:find("validation record:", 1, true)
      if at and at > 1 then
        assert.equal("\r\27[K", line:sub(at - 4, at - 1), line)
      end
    end
  end)

  it("downloads and unzips a certificate into a folder", function()
    local leaf = certgen.leaf{ cn = "dl.example.com", issuer = mid }
    local id = upload_pair(leaf)
    local dir = tmp .. "/dl"
    local rc, out, err = run{ "download", "--id", id, "--out", dir }
    assert.equal(0, rc, err)
    assert.matches("dl%.example%.com_nginx/dl%.example%.com_bundle%.crt", out)
    assert.equal(leaf.fullchain, read(dir .. "/dl.example.com_nginx/dl.example.com_bundle.crt"))
    assert.equal(leaf.cert_pem, read(dir .. "/cert.pem"))
    assert.equal(leaf.chain, read(dir .. "/chain.pem"))
    assert.equal(leaf.key_pem, read(dir .. "/privkey.pem")) -- the key it was uploaded with
    assert.equal("600", mode(dir .. "/privkey.pem"))
    rc, out = run{ "download", "--id", id, "--service-type", "other", "--output", "json" }
    assert.equal(0, rc)
    assert.same({ "dl.example.com_other/dl.example.com.pem" }, { decode(out).Files[1].Name })
  end)

  it("runs the emulator", function()
    local p = assert(io.popen("exec lua5.4 bin/tcssl emulator --port 0 --max-lifetime 10 2>/dev/null", "r"))
    local line = p:read("l")
    local url = line and line:match("^tcssl%-emulator listening on (%S+) pid=%d+$")
    assert.is_string(url, line)
    local http = require "socket.http"
    local body, status = http.request(url .. "/__emulator/shutdown", "")
    assert.equal(200, status, body)
    p:close()
  end)
end)

-- Looks like a key to certs.holds_key; no real key is needed to test how it is written.
local OLD_KEY = "-----BEGIN PRIVATE KEY-----\nb2xkIGtleQ==\n-----END PRIVATE KEY-----\n"

-- Files that hold private keys go through certs.write_file (spec/unit/certs_spec.lua): a new
-- 0600 file in place of an old one or of a link, and a clean failure.
describe("tcssl download --out and issue-free --out", function()
  local certs = require "tcssl.certs"
  local work -- the folders these write, apart from the other commands'
  setup(function() work = util.temp_dir("cli-files") end)
  teardown(function() util.remove_dir(work) end)

  it("issue-free writes the key as a new 0600 file over an old 0644 one and a link", function()
    local dir = work .. "/issued"
    assert(sh("mkdir " .. quote(dir)) == 0)
    write(dir .. "/privkey.pem", OLD_KEY)
    assert(sh("chmod 644 " .. quote(dir .. "/privkey.pem")) == 0)
    local target = write(work .. "/issued-target", "not a certificate\n")
    assert(sh("ln -s " .. quote(target) .. " " .. quote(dir .. "/fullchain.pem")) == 0)
    local rc, out, err = run{ "issue-free", "--domain", "files.example.com", "--yes", "--out", dir,
      "--poll-interval", "0.1" }
    assert.equal(0, rc, err)
    assert.matches("ok%s+download", out)
    local key = read(dir .. "/privkey.pem")
    assert.equal("600", mode(dir .. "/privkey.pem"))
    assert.is_false(is_link(dir .. "/fullchain.pem"))
    assert.is_true(certs.key_matches(read(dir .. "/fullchain.pem"), key))
    assert.equal("not a certificate\n", read(target))
    assert.same({ "cert.pem", "chain.pem", "fullchain.pem", "privkey.pem" }, listing(dir))
  end)

  it("download writes every key file of the archive 0600, replacing links, and fails cleanly", function()
    local rc, out, err = run{ "issue-free", "--domain", "dl-files.example.com", "--yes", "--output", "json",
      "--poll-interval", "0.1" }
    assert.equal(0, rc, err)
    local id = assert(json.decode(out)).CertificateId
    assert.is_string(id)
    local dir = work .. "/dl"
    assert(sh("mkdir -p " .. quote(dir .. "/dl-files.example.com_nginx")) == 0)
    write(dir .. "/privkey.pem", OLD_KEY)
    assert(sh("chmod 644 " .. quote(dir .. "/privkey.pem")) == 0)
    local target = write(work .. "/dl-target", "someone else's file\n")
    local key_entry = dir .. "/dl-files.example.com_nginx/dl-files.example.com.key"
    assert(sh("ln -s " .. quote(target) .. " " .. quote(key_entry)) == 0)

    rc, out, err = run{ "download", "--id", id, "--out", dir }
    assert.equal(0, rc, err)
    assert.matches("with its private key", out)
    assert.equal("600", mode(dir .. "/privkey.pem"))
    assert.is_false(is_link(key_entry))
    assert.equal("600", mode(key_entry))
    assert.equal(read(dir .. "/privkey.pem"), read(key_entry))
    assert.equal("someone else's file\n", read(target))
    local _, found = sh("find " .. quote(dir) .. " -type f \\( -name '*.key' -o -name '*.pfx' -o -name "
      .. "'keystorePass.txt' -o -name privkey.pem \\) -printf '%m %P\\n' | sort")
    local count = 0
    for line in found:gmatch("[^\n]+") do
      count = count + 1
      assert.matches("^600 ", line)
    end
    assert.is_true(count >= 5, found) -- privkey.pem, the .key files and the key stores
    local _, temps = sh("find " .. quote(dir) .. " -name '.tcssl-*'")
    assert.equal("", temps)

    -- a write that fails: a message naming the file, exit status 1, no traceback
    assert(sh("rm -f " .. quote(dir .. "/privkey.pem") .. " && mkdir " .. quote(dir .. "/privkey.pem")) == 0)
    rc, out, err = run{ "download", "--id", id, "--out", dir }
    assert.equal(1, rc, err .. out)
    assert.matches("^tcssl: io error IsDirectory: cannot write .*/privkey%.pem: ", err)
    assert.is_nil(err:find("traceback", 1, true))
    assert.is_nil(err:find("PRIVATE KEY", 1, true))
  end)
end)

-- tccli's forms, as its documentation for the SSL service writes them (the examples of
-- github.com/TencentCloud/tencentcloud-cli, tccli/examples/ssl/v20191205/*.md; tccli prints
-- the response without its "Response" wrapper), and tccli's profile files.
describe("tcssl in tccli's forms", function()
  local function no_env_keys(home, extra)
    local env = { TENCENTCLOUD_SECRET_ID = "", TENCENTCLOUD_SECRET_KEY = "", HOME = home }
    for k, v in pairs(extra or {}) do env[k] = v end
    return env
  end

  it("takes tccli's documented DescribeCertificates examples: ssl, --cli-unfold-argument, --Limit", function()
    local a = upload_pair(certgen.leaf{ cn = "ninghhuang.online" })
    upload_pair(certgen.leaf{ cn = "www.zrh.com" })
    -- Example 1: tccli ssl DescribeCertificates --cli-unfold-argument --Limit 1 --Offset 0
    local rc, out, err = run{ "ssl", "DescribeCertificates", "--cli-unfold-argument", "--Limit", "1", "--Offset", "0" }
    assert.equal(0, rc, err)
    local res = decode(out)
    assert.same({ 2, 1 }, { res.TotalCount, #res.Certificates })
    assert.is_nil(res.Response)
    assert.matches('^{\n  "TotalCount": 2,\n  "Certificates": %[', out) -- the documented output's order
    -- Example 2: --Offset 0 --Limit 1 --SearchKey ninghhuang
    rc, out = run{ "ssl", "DescribeCertificates", "--cli-unfold-argument", "--Offset", "0", "--Limit", "1",
      "--SearchKey", "ninghhuang" }
    assert.equal(0, rc)
    assert.equal(a, decode(out).Certificates[1].CertificateId)
    -- global options before the service word, too
    rc, out = run{ "--output", "json", "ssl", "DescribeCertificate", "--CertificateId", a }
    assert.equal(0, rc)
    assert.equal("ninghhuang.online", decode(out).Domain)
  end)

  it("selects with --filter and prints --output text as tab-separated lines", function()
    local a = upload_pair(certgen.leaf{ cn = "a.example.com" })
    local b = upload_pair(certgen.leaf{ cn = "b.example.com" })
    local rc, out = run{ "ssl", "DescribeCertificates", "--filter", "Certificates[*].CertificateId" }
    assert.equal(0, rc)
    local ids = decode(out)
    table.sort(ids)
    local want = { a, b }
    table.sort(want)
    assert.same(want, ids)
    rc, out = run{ "ssl", "DescribeCertificates", "--output", "text",
      "--filter", "Certificates[?Domain == 'b.example.com'].CertificateId | [0]" }
    assert.equal(0, rc)
    assert.equal(b .. "\n", out)
    rc, out = run{ "DescribeCertificates", "--filter", "Certificates[*].[CertificateId, Domain]", "--output", "text" }
    assert.equal(0, rc)
    assert.truthy(out:find(a .. "\ta.example.com\n", 1, true), out)
    assert.truthy(out:find(b .. "\tb.example.com\n", 1, true), out)
    rc, out = run{ "DescribeCertificates", "--filter", "{n: TotalCount, d: Certificates[].Domain | sort(@)}" }
    assert.equal(0, rc)
    assert.same({ n = 2, d = { "a.example.com", "b.example.com" } }, decode(out))
    rc, out = run{ "DescribeCertificates", "--filter", "Certificates[*].{id: CertificateId, domain: Domain}",
      "--output", "table" }
    assert.equal(0, rc)
    assert.matches("^domain%s+id\n", out)
    assert.matches("a%.example%.com%s+" .. a, out)
    rc, out = run{ "DescribeCertificates", "--output", "text" }
    assert.equal(0, rc)
    assert.matches("^2\t[%x%-]+\n", out) -- TotalCount and RequestId first, each certificate after
    local rc2, out2, err2 = run{ "DescribeCertificates", "--filter", "Certificates[" }
    assert.equal(2, rc2)
    assert.equal("", out2)
    assert.matches("^tcssl: %-%-filter Certificates%[: ", err2)
  end)

  it("prints a --generate-cli-skeleton that --cli-input-json file:// reads back", function()
    local rc, out = run{ "ssl", "DescribeCertificates", "--generate-cli-skeleton" }
    assert.equal(0, rc)
    local skeleton = decode(out)
    assert.same({ 0, 0, "" }, { skeleton.Offset, skeleton.Limit, skeleton.SearchKey })
    assert.same({ { TagKey = "", TagValue = "" } }, skeleton.Tags)
    assert.is_true(out:find('"Offset"', 1, true) < out:find('"Limit"', 1, true)) -- the model's order
    local id = upload_pair(certgen.leaf{ cn = "skeleton.example.com" })
    local input = { Limit = 5, SearchKey = "skeleton" }
    write(tmp .. "/skeleton.json", cjson.encode(input))
    rc, out = run{ "ssl", "DescribeCertificates", "--cli-input-json", "file://" .. tmp .. "/skeleton.json" }
    assert.equal(0, rc)
    assert.equal(id, decode(out).Certificates[1].CertificateId)
    rc = run{ "ssl", "DescribeCertificates", "--cli-input-json", "file://" .. tmp .. "/absent.json" }
    assert.equal(2, rc)
  end)

  it("calls the legacy actions CertUpload, CertGetList and CertDelete", function()
    local leaf = certgen.leaf{ cn = "legacy.example.com" }
    write(tmp .. "/legacy.pem", leaf.cert_pem)
    write(tmp .. "/legacy.key", leaf.key_pem)
    local rc, out, err = run{ "ssl", "CertUpload", "--cert", "file://" .. tmp .. "/legacy.pem", "--certType", "SVR",
      "--key", "file://" .. tmp .. "/legacy.key", "--alias", "old api" }
    assert.equal(0, rc, err)
    local id = decode(out).id
    assert.matches("^%w+$", id)
    rc, out = run{ "CertGetList", "--count", "10", "--filter", "list[*].[id, alias]", "--output", "text" }
    assert.equal(0, rc)
    assert.equal(id .. "\told api\n", out)
    rc, out = run{ "DescribeCertificate", "--CertificateId", id, "--filter", "Alias", "--output", "text" }
    assert.equal(0, rc)
    assert.equal("old api\n", out) -- one store behind both APIs
    rc, out = run{ "CertDelete", "--help" }
    assert.equal(0, rc)
    assert.matches("%-%-id%s+String%s+required", out)
    rc, out, err = run{ "CertDelete", "--id", id }
    assert.equal(0, rc, err)
    assert.matches("^[%[{][%]}]\n$", out) -- the envelope's empty data
    rc, out = run{ "CertGetList", "--filter", "totalNum" }
    assert.equal(0, rc)
    assert.equal("0\n", out)
    rc, out, err = run{ "CertGetLis" }
    assert.equal(2, rc)
    assert.equal("", out)
    assert.matches("did you mean CertGetList", err)
  end)

  it("reads tccli's profile files after tcssl's own: keys, region, output", function()
    local home = tmp .. "/tccli-home"
    os.execute("mkdir -p " .. quote(home .. "/.tccli"))
    write(home .. "/.tccli/default.credential", cjson.encode{ secretId = ID, secretKey = KEY })
    write(home .. "/.tccli/default.configure", cjson.encode{
      _sys_param = { region = "ap-shanghai", output = "text" }, ssl = { endpoint = "ssl.tencentcloudapi.com" } })
    local rc, out, err = run({ "ssl", "DescribeCertificates", "--filter", "TotalCount" },
      no_env_keys(home, { TENCENTCLOUD_REGION = "" }))
    assert.equal(0, rc, err)
    assert.equal("0\n", out) -- the keys from default.credential, the output from default.configure
    rc, out = run({ "DescribeCertificates", "--filter", "TotalCount", "--output", "json" }, no_env_keys(home))
    assert.equal(0, rc)
    assert.equal("0\n", out)
    -- another profile, by --profile or TCCLI_PROFILE; a wrong key there is a credentials error
    write(home .. "/.tccli/other.credential", cjson.encode{ secretId = ID, secretKey = "not-the-key-at-all" })
    rc = run({ "DescribeCertificates" }, no_env_keys(home, { TCCLI_PROFILE = "other" }))
    assert.equal(4, rc)
    rc, out, err = run({ "DescribeCertificates", "--profile", "other" }, no_env_keys(home))
    assert.equal(4, rc)
    assert.equal("", out)
    assert.matches("AuthFailure", err)
    -- tcssl's own file wins over tccli's
    os.execute("mkdir -p " .. quote(home .. "/.tencentcloud"))
    write(home .. "/.tencentcloud/credentials", "[other]\nsecret_id = " .. ID .. "\nsecret_key = " .. KEY .. "\n")
    rc, out, err = run({ "DescribeCertificates", "--profile", "other" }, no_env_keys(home))
    assert.equal(0, rc, err)
    assert.equal(0, decode(out).TotalCount)
    -- a malformed tccli file is named
    write(home .. "/.tccli/bad.credential", "{not json")
    rc, out, err = run({ "DescribeCertificates", "--profile", "bad" }, no_env_keys(home))
    assert.equal(4, rc)
    assert.equal("", out)
    assert.matches("bad%.credential is not a JSON object", err)
  end)

  it("signs for the region of tccli's .configure, unless --region or TENCENTCLOUD_REGION names another", function()
    local home = tmp .. "/tccli-region-home"
    os.execute("mkdir -p " .. quote(home .. "/.tccli"))
    write(home .. "/.tccli/default.credential", cjson.encode{ secretId = ID, secretKey = KEY })
    write(home .. "/.tccli/default.configure", cjson.encode{ _sys_param = { region = "ap-shanghai", output = "json" } })
    write(home .. "/.tccli/west.credential", cjson.encode{ secretId = ID, secretKey = KEY })
    write(home .. "/.tccli/west.configure", cjson.encode{ _sys_param = { region = "ap-chengdu" } })
    -- the regions the emulator saw DescribeCertificates signed for since its last reset
    local function seen()
      local list = {}
      for _, row in ipairs(server:stats().per_second) do
        if row.action == "DescribeCertificates" then list[#list + 1] = row.region end
      end
      server:reset()
      return table.concat(list, " ")
    end
    local function call(words, extra)
      local rc, _, err = run(words, no_env_keys(home, extra))
      assert.equal(0, rc, err)
      return seen()
    end
    assert.equal("ap-shanghai", call({ "ssl", "DescribeCertificates" }, { TENCENTCLOUD_REGION = "" }))
    assert.equal("ap-chengdu", call({ "DescribeCertificates", "--profile", "west" }, { TENCENTCLOUD_REGION = "" }))
    assert.equal("ap-chengdu", call({ "DescribeCertificates" }, { TENCENTCLOUD_REGION = "", TCCLI_PROFILE = "west" }))
    assert.equal("ap-beijing", call({ "ssl", "DescribeCertificates", "--region", "ap-beijing" },
      { TENCENTCLOUD_REGION = "" }))
    assert.equal("ap-nanjing", call({ "DescribeCertificates" }, { TENCENTCLOUD_REGION = "ap-nanjing" }))
    assert.equal("ap-beijing", call({ "DescribeCertificates", "--region", "ap-beijing" },
      { TENCENTCLOUD_REGION = "ap-nanjing" }))
  end)

  it("tcssl configure writes ~/.tencentcloud/credentials 0600 from flags or stdin, keeping other sections", function()
    local home = tmp .. "/configure-home"
    os.execute("mkdir -p " .. quote(home .. "/.tencentcloud"))
    write(home .. "/.tencentcloud/credentials", "# mine\n[keep]\nsecret_id = AKIDKEEP\nsecret_key = keep-me\n")
    local rc, out, err = run({ "configure", "--secret-id", ID, "--secret-key", KEY }, no_env_keys(home))
    assert.equal(0, rc, err)
    assert.matches("wrote %[default%]", out)
    assert.is_nil(out:find(KEY, 1, true))
    local text = read(home .. "/.tencentcloud/credentials")
    assert.equal("600", mode(home .. "/.tencentcloud/credentials"))
    assert.matches("^# mine\n%[keep%]\nsecret_id = AKIDKEEP\nsecret_key = keep%-me\n\n%[default%]\nsecret_id = "
      .. ID .. "\nsecret_key = " .. KEY:gsub("%-", "%%-") .. "\n$", text)
    rc, out, err = run({ "DescribeCertificates", "--filter", "TotalCount" }, no_env_keys(home))
    assert.equal(0, rc, err)
    assert.equal("0\n", out)
    -- the key from stdin, into a named profile, replacing its old lines
    write(tmp .. "/key.txt", KEY .. "\n")
    rc, out, err = run({ "configure", "--profile", "keep", "--secret-id", ID, "--secret-key", "-" }, no_env_keys(home),
      tmp .. "/key.txt")
    assert.equal(0, rc, err)
    assert.matches("wrote %[keep%]", out)
    text = read(home .. "/.tencentcloud/credentials")
    assert.matches("%[keep%]\nsecret_id = " .. ID .. "\nsecret_key = ", text)
    assert.is_nil(text:find("keep-me", 1, true))
    rc = run({ "DescribeCertificates", "--profile", "keep" }, no_env_keys(home))
    assert.equal(0, rc)
    -- without a terminal, both keys are needed
    rc, out, err = run({ "configure", "--secret-id", ID }, no_env_keys(home))
    assert.equal(2, rc)
    assert.equal("", out)
    assert.matches("^tcssl: configure: not on a terminal: give %-%-secret%-id and %-%-secret%-key", err)
  end)
end)

describe("tcssl's manual page and completions", function()
  it("makes tcssl.1 from the text of --help, every job's usage and every action", function()
    local rc, page = run{ "man" }
    assert.equal(0, rc)
    local _, help = run{ "--help" }
    assert.matches("^%.TH TCSSL 1 ", page)
    -- each option of --help is a .TP entry of OPTIONS, each exit status one of EXIT STATUS
    for opt in help:gmatch("\n  (%-%-[%l][%w%-]*)") do
      assert.truthy(page:find(".B " .. opt:gsub("%-", "\\-"), 1, true), opt)
    end
    for status in help:gmatch("\n  (%d)  ") do
      assert.truthy(page:find(".B " .. status .. "\n", 1, true), status)
    end
    for _, job in ipairs{ "renew", "expiring", "issue-free", "download", "configure" } do
      assert.truthy(page:find(".SS " .. job .. "\n", 1, true), job)
    end
    local n = 0
    for _ in page:gmatch("\n%.TP\n%.B %u%w+\n") do n = n + 1 end
    assert.equal(68 + 3, n) -- the actions and the legacy ones
    if util.run("command -v man") then -- man-db, from make deps
      write(tmp .. "/tcssl.1", page)
      local shown = util.lines("MANWIDTH=100 man -l " .. quote(tmp .. "/tcssl.1") .. " 2>&1")
      local text = table.concat(shown, "\n")
      assert.matches("EXIT STATUS", text)
      assert.is_nil(text:find("warning", 1, true), text:sub(1, 400))
    end
  end)

  it("completes commands, actions, their parameters and option values in bash", function()
    local rc, script = run{ "completion", "bash" }
    assert.equal(0, rc)
    write(tmp .. "/tcssl.bash", script)
    local function complete(...)
      local words = { ... }
      local quoted = {}
      for i, w in ipairs(words) do quoted[i] = quote(w) end
      local line = util.lines("bash -c " .. quote("source " .. quote(tmp .. "/tcssl.bash") .. "; COMP_WORDS=("
        .. table.concat(quoted, " ") .. "); COMP_CWORD=" .. (#words - 1) .. "; _tcssl; echo \"${COMPREPLY[*]}\""))
      return line[1] or ""
    end
    assert.equal("DescribeCertificate DescribeCertificateBindResourceTaskDetail "
      .. "DescribeCertificateBindResourceTaskResult DescribeCertificateDetail DescribeCertificateOperateLogs "
      .. "DescribeCertificates", complete("tcssl", "ssl", "DescribeCertificat"))
    assert.equal("--Limit", complete("tcssl", "--region", "ap-guangzhou", "ssl", "DescribeCertificates", "--Lim"))
    assert.equal("--regions --replace --resource-types --region", complete("tcssl", "renew", "--re"))
    assert.equal("json table text", complete("tcssl", "DescribeCertificates", "--output", ""))
    assert.equal("CertGetList", complete("tcssl", "CertG"))
    assert.equal("--certType", complete("tcssl", "CertUpload", "--certT"))
    rc, script = run{ "completion", "zsh" }
    assert.equal(0, rc)
    assert.matches("^#compdef tcssl\n", script)
    assert.matches("\n    DescribeCertificates%) params=%(%-%-Offset %-%-Limit ", script)
    if util.run("command -v zsh") then -- from make deps
      write(tmp .. "/_tcssl", script)
      local ok, why = util.run("zsh -n " .. quote(tmp .. "/_tcssl"))
      assert.is_true(ok, why)
    end
    assert.equal(2, (run{ "completion", "fish" }))
  end)

  it("gives each command its own --help", function()
    for _, job in ipairs{ "renew", "expiring", "issue-free", "download", "configure", "completion", "man" } do
      local rc, out = run{ job, "--help" }
      assert.equal(0, rc, job)
      assert.matches("^usage: tcssl " .. job:gsub("%-", "%%-"), out)
      local rc2, out2 = run{ "help", job }
      assert.equal(0, rc2)
      assert.equal(out, out2)
    end
  end)
end)
