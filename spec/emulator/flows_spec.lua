-- tcssl.flows against the emulator: renew (twice, and broken half way), expiring, issue_free.
local tcssl = require "tcssl"
local flows = require "tcssl.flows"
local certs = require "tcssl.certs"
local json = require "tcssl.json"
local cjson = require "cjson"
local emu = require "spec.support.emulator"
local certgen = require "spec.support.certgen"

local ID, KEY = "AKIDFLOWSSPEC0000000000000000000000", "flows-spec-secret-key-0000000000"
local FAST = { interval = 0.01, timeout = 20 }

local server, client, root, mid

local function with(t, extra)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  for k, v in pairs(extra or {}) do out[k] = v end
  return out
end

local function upload(leaf, alias)
  return assert(client:UploadCertificate{ CertificatePublicKey = leaf.fullchain, CertificatePrivateKey = leaf.key_pem,
    Alias = alias or "" }).CertificateId
end

local function bind(list)
  local body, status = server:control("POST", "resources", cjson.encode{ resources = list })
  assert(status == 200, body and body.error)
end

local function bound()
  local out = {}
  for _, r in ipairs(server:control("GET", "resources").resources) do
    out[r.ResourceType .. ":" .. r.InstanceId .. ":" .. (r.Region or "")] = r.CertificateId
  end
  return out
end

setup(function()
  server = emu.start{ keys = { [ID] = { secret_key = KEY } } }
  client = assert(tcssl.new{ endpoint = server.host, scheme = "http", secret_id = ID, secret_key = KEY,
    timeout = 10, region = "ap-guangzhou" })
  root = certgen.ca("tcssl flows root")
  mid = certgen.ca("tcssl flows intermediate", root)
end)

teardown(function()
  if server then server:stop() end
end)

before_each(function() server:reset() end)

describe("renew", function()
  local old_leaf, new_leaf, old_id

  before_each(function()
    old_leaf = certgen.leaf{ cn = "shop.example.com", sans = { "shop.example.com", "www.shop.example.com" },
      issuer = mid, days = 20 }
    new_leaf = certgen.leaf{ cn = "shop.example.com", sans = { "shop.example.com", "www.shop.example.com" },
      issuer = mid, days = 90 }
    old_id = upload(old_leaf, "old")
    bind{
      { ResourceType = "clb", InstanceId = "lb-gz", ListenerId = "lbl-1", Region = "ap-guangzhou",
        Domains = { "shop.example.com" }, CertificateId = old_id },
      { ResourceType = "clb", InstanceId = "lb-sh", ListenerId = "lbl-2", Region = "ap-shanghai",
        CertificateId = old_id },
      { ResourceType = "cdn", InstanceId = "www.shop.example.com", Domains = { "www.shop.example.com" },
        CertificateId = old_id },
      { ResourceType = "waf", InstanceId = "waf-1", Region = "ap-guangzhou", CertificateId = old_id },
    }
  end)

  local function options(extra)
    -- the leaf alone, the chain beside it, in the wrong order: renew puts it right
    return with(FAST, with({ cert = new_leaf.cert_pem, chain = root.cert_pem .. mid.cert_pem, key = new_leaf.key_pem,
      replace = old_id, resource_types = { "clb", "cdn" } }, extra))
  end

  it("uploads, moves the chosen resources in the chosen regions, waits and reports each", function()
    local progress = 0
    local report = assert(flows.renew(client, options{ on_progress = function() progress = progress + 1 end }))
    assert.is_true(report.ok)
    assert.is_true(report.uploaded)
    assert.is_false(report.nothing_to_do == true)
    assert.equal(new_leaf.sha256, report.fingerprint)
    assert.is_true(report.record_id > 0)
    assert.is_true(progress >= 2)
    local stored = assert(client:DescribeCertificateDetail{ CertificateId = report.certificate_id })
    assert.equal(new_leaf.fullchain, stored.CertificatePublicKey) -- leaf first, then the chain in order
    local by_instance = {}
    for _, r in ipairs(report.resources) do by_instance[r.instance_id] = r end
    assert.equal("success", by_instance["lb-gz"].status)
    assert.equal("ap-guangzhou", by_instance["lb-gz"].region)
    assert.equal("lbl-1", by_instance["lb-gz"].listener_id)
    assert.equal("success", by_instance["www.shop.example.com"].status)
    assert.is_nil(by_instance["lb-sh"])
    local now = bound()
    assert.equal(report.certificate_id, now["clb:lb-gz:ap-guangzhou"])
    assert.equal(report.certificate_id, now["cdn:www.shop.example.com:"])
    assert.equal(old_id, now["clb:lb-sh:ap-shanghai"]) -- another region
    assert.equal(old_id, now["waf:waf-1:ap-guangzhou"]) -- another type
    local list = assert(client:DescribeCertificates{ CertIds = { old_id } })
    assert.is_true(list.Certificates[1].IsIgnore) -- ExpiringNotificationSwitch = 1
    local text = flows.format_renew(report)
    assert.matches("renew: done", text)
    assert.matches("lb%-gz/lbl%-1", text)
    local decoded = assert(json.decode(flows.renew_json(report)))
    assert.same({ true, report.certificate_id, 2 }, { decoded.Ok, decoded.CertificateId, #decoded.Resources })
  end)

  it("changes nothing when run a second time", function()
    local first = assert(flows.renew(client, options()))
    local second = assert(flows.renew(client, options()))
    assert.is_true(second.ok)
    assert.is_false(second.uploaded)
    assert.is_true(second.nothing_to_do)
    assert.equal(first.certificate_id, second.certificate_id)
    assert.equal(2, #second.resources)
    for _, r in ipairs(second.resources) do assert.equal("already", r.status) end
    assert.equal(1, assert(client:DescribeHostUpdateRecord{ OldCertificateId = old_id }).TotalCount)
    assert.equal(2, assert(client:DescribeCertificates{ SearchKey = "shop.example.com" }).TotalCount)
    assert.matches("nothing to do", flows.format_renew(second))
  end)

  it("stops with a clear report when the update fails half way, and a second run finishes the job", function()
    server:fault{ type = "api_error", action = "UpdateCertificateInstance", code = "FailedOperation.NetworkError",
      message = "busy" }
    local report, err, same = flows.renew(client, options())
    assert.is_nil(report)
    assert.equal(err.report, same)
    assert.same({ "api", "FailedOperation.NetworkError" }, { err.kind, err.code })
    assert.equal("update", same.failed_step)
    assert.is_false(same.ok)
    assert.is_true(same.uploaded)
    assert.is_string(same.certificate_id)
    local names = {}
    for _, s in ipairs(same.steps) do names[#names + 1] = s.name .. (s.ok and "" or "!") end
    assert.same({ "check", "old", "upload", "find", "update!" }, names)
    assert.matches("failed at step update", flows.format_renew(same))
    assert.equal(old_id, bound()["clb:lb-gz:ap-guangzhou"])

    local again = assert(flows.renew(client, options()))
    assert.is_false(again.uploaded)
    assert.equal(same.certificate_id, again.certificate_id)
    assert.equal(again.certificate_id, bound()["clb:lb-gz:ap-guangzhou"])
  end)

  it("picks up an update that was left running when the wait broke off", function()
    server:fault{ type = "api_error", action = "DescribeHostUpdateRecordDetail", code = "FailedOperation.Busy" }
    local _, err, report = flows.renew(client, options())
    assert.equal("wait", report.failed_step)
    assert.equal("FailedOperation.Busy", err.code)
    local record = report.record_id
    local again = assert(flows.renew(client, options()))
    assert.equal(record, again.record_id)
    assert.matches("already running", again.warnings[1])
    assert.equal(again.certificate_id, bound()["cdn:www.shop.example.com:"])
  end)

  it("reports the resources that refused the new certificate", function()
    bind{ { ResourceType = "cdn", InstanceId = "www.shop.example.com", Domains = { "www.shop.example.com" },
      CertificateId = old_id, Fail = true } }
    local report, err, failed = flows.renew(client, options())
    assert.is_nil(report)
    assert.same({ "state", "UpdateFailed", "wait" }, { err.kind, err.code, failed.failed_step })
    local states = {}
    for _, r in ipairs(failed.resources) do states[r.instance_id] = r end
    assert.equal("success", states["lb-gz"].status)
    assert.equal("failed", states["www.shop.example.com"].status)
    assert.matches("refused", states["www.shop.example.com"].error)
    local decoded = assert(json.decode(flows.renew_json(failed)))
    assert.same({ false, "wait", "UpdateFailed" }, { decoded.Ok, decoded.FailedStep, decoded.Error.code })
  end)

  it("checks its input before sending anything", function()
    local stranger = certgen.leaf{ cn = "shop.example.com" }
    local expired = certgen.leaf{ cn = "shop.example.com", not_before = os.time() - 100 * 86400, days = 10 }
    local no_region = assert(tcssl.new{ endpoint = server.host, scheme = "http", secret_id = ID, secret_key = KEY })
    local cases = {
      { options{ key = stranger.key_pem }, "CertificateMismatch" },
      { options{ cert = expired.cert_pem, chain = "", key = expired.key_pem }, "CertificateExpired" },
      { options{ resource_types = { "clb", "ftp" } }, "InvalidParameter" },
      { options{ resource_types = {} }, "InvalidParameter" },
      { options{ replace = "" }, "InvalidParameter" },
      { options{ cert = "not pem", chain = "" }, "InvalidPEM" },
      { options{ key = "" }, "InvalidPEM" },
    }
    for i, case in ipairs(cases) do
      local report, err, r = flows.renew(client, case[1])
      assert.is_nil(report, i)
      assert.equal(case[2], err.code, i .. ": " .. tostring(err))
      assert.equal("check", r.failed_step, i)
    end
    local _, err = flows.renew(no_region, options())
    assert.matches("regional", err.message)
    assert(flows.renew(no_region, options{ resource_regions = { clb = { "ap-guangzhou" } } }))
    local _, missing, r = flows.renew(client, options{ replace = "nothere1" })
    assert.same({ "FailedOperation.CertificateNotFound", "old" }, { missing.code, r.failed_step })
    -- the old certificate itself: nothing to do
    local same = assert(flows.renew(client, options{ cert = old_leaf.fullchain, chain = "", key = old_leaf.key_pem }))
    assert.is_true(same.nothing_to_do)
    assert.equal(old_id, same.certificate_id)
  end)
end)

describe("expiring", function()
  it("lists the certificates ending within N days, soonest first, as a table and as JSON", function()
    local soon = upload(certgen.leaf{ cn = "soon.example.com", days = 10 }, "soon")
    local later = upload(certgen.leaf{ cn = "later.example.com", days = 45 })
    local past = upload(certgen.leaf{ cn = "past.example.com", not_before = os.time() - 30 * 86400, days = 20 })
    upload(certgen.leaf{ cn = "far.example.com", days = 400 })
    local function ids(report)
      local out = {}
      for i, c in ipairs(report.certificates) do out[i] = c.id end
      return out
    end
    local report = assert(flows.expiring(client, { days = 30 }))
    assert.same({ soon }, ids(report))
    local c = report.certificates[1]
    assert.same({ "soon.example.com", "soon", false }, { c.domain, c.alias, c.expired })
    assert.is_true(c.days_left == 9 or c.days_left == 10)
    assert.equal(certs.parse_api_time(c.ends), c.not_after)
    assert.same({ soon, later }, ids(assert(flows.expiring(client, { days = 60 }))))
    local all = assert(flows.expiring(client, { days = 60, include_expired = true }))
    assert.same({ past, soon, later }, ids(all))
    assert.is_true(all.certificates[1].expired)

    local text = flows.expiring_table(all)
    assert.matches("^ID%s+DOMAIN%s+ENDS %(UTC%+8%)%s+DAYS", text)
    assert.matches(past .. "%s+past%.example%.com%s+%S+ %S+%s+expired", text)
    assert.matches("3 certificate%(s%) end within 60 days", text)
    local decoded = assert(json.decode(flows.expiring_json(all)))
    assert.equal(3, #decoded.Certificates)
    assert.same({ soon, "soon.example.com", false }, { decoded.Certificates[2].CertificateId,
      decoded.Certificates[2].Domain, decoded.Certificates[2].Expired })
    assert.equal('"Certificates":[]', flows.expiring_json(assert(flows.expiring(client, { days = 0 })))
      :match('"Certificates":%[%]'))
    assert.equal("validation", select(2, flows.expiring(client, { days = -1 })).kind)
  end)
end)

describe("issue_free", function()
  it("hands the DNS records to the callback, then validates, waits and downloads", function()
    local seen
    local result = assert(flows.issue_free(client, with(FAST, { domain = "free.example.com",
      on_validation = function(records, info)
        seen = { records = records, info = info }
        return true
      end })))
    assert.equal(1, #seen.records)
    local r = seen.records[1]
    assert.equal("TXT", r.type)
    assert.matches("^_%x+%.free%.example%.com$", r.name)
    assert.matches("^_%x+$", r.subdomain)
    assert.is_true(#r.value > 20)
    assert.equal(result.certificate_id, seen.info.certificate_id)
    assert.equal(1, result.certificate.Status)
    local dl = result.download
    assert.is_true(certs.key_matches(dl.fullchain, dl.key))
    assert.equal("free.example.com", dl.certificates[1].common_name)
    assert.is_true(#dl.chain > 0)
    local steps = {}
    for _, s in ipairs(result.steps) do steps[#steps + 1] = s.name end
    assert.same({ "apply", "records", "publish", "complete", "wait", "download" }, steps)
  end)

  it("gives FILE records, and needs no callback for DNS_AUTO", function()
    local file_records
    assert(flows.issue_free(client, with(FAST, { domain = "files.example.com", method = "FILE", download = false,
      on_validation = function(records) file_records = records return true end })))
    assert.equal("FILE", file_records[1].type)
    assert.matches("^/%.well%-known/pki%-validation/%x+%.txt$", file_records[1].path)
    assert.matches("^http://files%.example%.com/%.well%-known/", file_records[1].url)
    local auto = assert(flows.issue_free(client, with(FAST, { domain = "auto.example.com", method = "DNS_AUTO",
      algorithm = "ECC", service_type = "nginx" })))
    assert.equal("EC", auto.download.certificates[1].key_type)
    assert.equal("auto.example.com_nginx.zip", auto.download.filename)
  end)

  it("stops when the callback cannot publish, and goes on with the order later", function()
    local result, err, report = flows.issue_free(client, with(FAST, { domain = "later.example.com",
      on_validation = function() return nil, "no DNS access" end }))
    assert.is_nil(result)
    assert.same({ "ValidationAborted", "publish" }, { err.code, report.failed_step })
    assert.matches("no DNS access", err.message)
    local raised = select(3, flows.issue_free(client, with(FAST, { domain = "raise.example.com",
      on_validation = function() error("boom") end })))
    assert.equal("publish", raised.failed_step)
    local resumed = assert(flows.issue_free(client, with(FAST, { domain = "later.example.com",
      certificate_id = report.certificate_id, on_validation = function() return true end })))
    assert.equal(report.certificate_id, resumed.certificate_id)
    assert.equal("apply", resumed.steps[1].name)
    assert.matches("going on", resumed.steps[1].message)
    -- an issued order only needs its download
    local done = assert(flows.issue_free(client, with(FAST, { domain = "later.example.com",
      certificate_id = report.certificate_id, on_validation = function() error("not called") end })))
    assert.equal(resumed.download.fullchain, done.download.fullchain)
  end)

  it("reports an order the CA refused, and bad input", function()
    local _, err, report = flows.issue_free(client, with(FAST, { domain = "nope.example.invalid",
      on_validation = function() return true end }))
    assert.same({ "state", "CertificateReviewFailed", "wait" }, { err.kind, err.code, report.failed_step })
    assert.is_string(report.certificate_id)
    for _, bad in ipairs({ { domain = "no spaces.com" }, { domain = "a.example.com", method = "EMAIL" },
      { domain = "a.example.com" }, { domain = "a.example.com", method = "DNS_AUTO", algorithm = "DSA" } }) do
      local res, e, r = flows.issue_free(client, bad)
      assert.is_nil(res)
      assert.equal("validation", e.kind)
      assert.equal("check", r.failed_step)
    end
  end)
end)

describe("the flows' arguments", function()
  it("are checked, never raising", function()
    local function check(fn, ...)
      local ok, res, err = pcall(fn, ...)
      assert.is_true(ok, tostring(res))
      assert.is_nil(res)
      assert.equal("validation", err.kind)
    end
    check(flows.renew, nil, { replace = "x" })
    check(flows.renew, client, { replace = "abcd", resource_types = { "cdn" }, cert = {}, key = "k" })
    check(flows.renew, client, "not options")
    check(flows.expiring, nil)
    check(flows.expiring, client, { time = "now" })
    check(flows.issue_free, {}, { domain = "a.example.com" })
    check(flows.issue_free, client, { domain = "a.example.com", certificate_id = 7, method = "DNS_AUTO" })
    check(certs.find, nil, "a.example.com")
    check(certs.download, nil, "abcd")
    check(require("tcssl.pages").all, nil, "DescribeCertificates", {})
    check(require("tcssl.waiters").certificate_issued, nil, "abcd")
    -- options of the wrong type
    local pem = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"
    for _, bad in ipairs{ { regions = 5 }, { resource_regions = { clb = 5 } }, { resource_regions = "x" },
      { regions = { 5 } } } do
      local o = { replace = "abcd", resource_types = { "clb" }, cert = pem, key = pem }
      for k, v in pairs(bad) do o[k] = v end
      check(flows.renew, client, o)
    end
    check(flows.expiring, client, { max_items = "x" })
    check(require("tcssl.pages").all, client, "DescribeCertificates", {}, { max_items = "x" })
    check(require("tcssl.pages").all, client, "DescribeCertificates", {}, { max_pages = 0 })
    check(require("tcssl.waiters").poll, nil)
    check(require("tcssl.waiters").poll, function() return "done" end, "opts")
    -- the formatters answer "" (text) or nil and a message (JSON) for what is not a report
    for _, bad in ipairs{ false, {}, "x" } do
      assert.equal("", flows.expiring_table(bad or nil))
      assert.is_nil((flows.expiring_json(bad or nil)))
      assert.is_nil((flows.renew_json(type(bad) == "table" and 42 or bad or nil)))
      assert.equal("", flows.format_renew(bad or nil))
    end
  end)
end)
