-- tcssl.dates: the one implementation of calendar dates that the client's clock correction,
-- tcssl.certs and tcssl.credentials share; no local time zone is read.
local dates = require "tcssl.dates"

describe("tcssl.dates", function()
  it("counts days from the civil date, across leap years and before 1970", function()
    assert.equal(0, dates.days_from_civil(1970, 1, 1))
    assert.equal(11016, dates.days_from_civil(2000, 2, 29))
    assert.equal(-1, dates.days_from_civil(1969, 12, 31))
    assert.equal(29, dates.days_in_month(2024, 2))
    assert.equal(28, dates.days_in_month(1900, 2))
    assert.equal(29, dates.days_in_month(2000, 2))
  end)

  it("reads and writes the HTTP Date header", function()
    assert.equal(1700000000, dates.parse_http_date("Tue, 14 Nov 2023 22:13:20 GMT"))
    assert.equal("Tue, 14 Nov 2023 22:13:20 GMT", dates.format_http_date(1700000000))
    for _, bad in ipairs{ "yesterday", "Tue, 31 Feb 2023 00:00:00 GMT", "Tue, 14 Nov 2023 25:00:00 GMT",
        "Tue, 14 Foo 2023 22:13:20 GMT", 1700000000 } do
      assert.is_nil(dates.parse_http_date(bad), tostring(bad))
    end
  end)

  it("reads API and ISO 8601 times in their zone, or at the offset given", function()
    assert.equal(1714536000, dates.parse("2024-05-01 12:00:00", dates.CST_OFFSET))
    assert.equal(1714564800, dates.parse("2024-05-01T12:00:00Z"))
    assert.equal(1724376883, dates.parse("2024-08-23T09:34:43.5+08:00"))
    local t, why = dates.parse("2024-05-01 12:00:00")
    assert.is_nil(t)
    assert.matches("no time zone", why)
    t, why = dates.parse("2024-13-01T00:00:00Z")
    assert.is_nil(t)
    assert.matches("not a valid date", why)
    assert.is_nil((dates.parse(nil)))
  end)

  it("writes a time at an offset", function()
    assert.equal("2024-05-01 12:00:00", dates.format(1714536000, "%Y-%m-%d %H:%M:%S", dates.CST_OFFSET))
    assert.equal("2024-05-01T04:00:00Z", dates.format(1714536000.7, "%Y-%m-%dT%H:%M:%SZ"))
  end)

  it("is what the credentials read an expiry with", function()
    local credentials = require "tcssl.credentials"
    local doc = '{"Code":"Success","TmpSecretId":"AKIDDATES","TmpSecretKey":"dates-spec-key","Token":"tok",'
      .. '"Expiration":"2030-01-01T08:00:00+08:00"}'
    local transport = { request = function(_, _, url)
      if url:find("/$") then return 200, {}, "role" end
      return 200, { ["content-type"] = "application/json" }, doc
    end }
    local c = assert(credentials.cvm_role{ transport = transport, clock = function() return 1700000000 end }.get())
    assert.equal(1893456000, c.expires)
  end)
end)
