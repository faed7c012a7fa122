--- tcssl.serve: nginx serves the certificates of a Tencent Cloud SSL account, picked by SNI,
-- refreshed in the background and swapped in without a reload.
--
--   lua_shared_dict tcssl_certs 10m;
--   init_worker_by_lua_block {
--     require("tcssl.serve").start{
--       client = { region = "ap-guangzhou" },          -- tcssl.new options, or a client
--       domains = { "shop.example.com", "*.api.example.com" },  -- or a function, or "all"
--       dict = "tcssl_certs", refresh = 300, cache_dir = "/var/cache/tcssl",
--     }
--   }
--   server {
--     listen 443 ssl;
--     ssl_certificate fallback.pem; ssl_certificate_key fallback.key;
--     ssl_certificate_by_lua_block { require("tcssl.serve").certificate() }
--   }
--   location = /tcssl-status { content_by_lua_block { require("tcssl.serve").status() } }
--
-- How it works:
-- * Every worker runs a timer (ngx.timer.every, each `tick` seconds); the worker whose
--   shared-dict `add` of the "due" key succeeds refreshes, so one refresh happens per
--   `refresh` interval among all workers, and a second lock keeps refreshes from overlapping.
-- * A refresh asks, for each name, for the issued certificates that cover it (certs.find:
--   DescribeCertificates by SearchKey, then SAN and wildcard matching), newest end first, and
--   takes the first that passes the checks: downloaded (DownloadCertificate) with its private
--   key, the key matching the certificate, valid now, covering the name, and readable by
--   ngx.ssl. With domains = "all", one DescribeCertificates listing gives every issued
--   certificate and the names it covers (SAN and Domain), each name served by the one of
--   them that ends last, and a name none covers any more is dropped (the fallback again).
--   A certificate that fails is logged and not tried again for `retry_bad` seconds;
--   the one served before stays. The certificates and keys go into the shared dict; a
--   generation counter tells the workers that the mapping changed.
-- * In the handshake (certificate()) nothing calls the API and nothing blocks: the SNI name,
--   then its wildcard (`*.` and the parent), is looked up in the worker's table for the
--   current generation, filled from the dict; the parsed certificate and key are cached per
--   worker. An unknown name or no SNI leaves nginx's own ssl_certificate (the fallback).
-- * With cache_dir, what is served is also written there (files 0600 in a 0700 folder, written
--   whole and renamed) and read back at start, checked again, so that nginx restarted while
--   the API cannot be reached serves the last good certificates; a file that fails the checks
--   (changed, cut short) is logged and passed over, never served.
-- * Private keys never appear in a log line, an error or status().
local certs = require "tcssl.certs"
local errors = require "tcssl.error"
local json = require "tcssl.json"

local M = {}

local PREFIX = "tcssl.serve: "
local MAX_LOCAL_NAMES = 4096 -- names remembered per worker between two generations

-- The worker's state: options, the dict, the client, the handshake tables.
local S = {
  opts = nil, dict = nil, client = nil,
  gen = nil, names = {}, count = 0, parsed = {},
}

local function ngx_() return rawget(_G, "ngx") end

local function log(level, message)
  local ngx = ngx_()
  if ngx then return ngx.log(ngx[level], PREFIX, message) end
  io.stderr:write(PREFIX, message, "\n")
end

local function config_error(message)
  return nil, errors.new("config", "InvalidServeOption", message)
end

local function now()
  local ngx = ngx_()
  return ngx and ngx.time() or os.time()
end

local function canonical(name)
  return (name:lower():gsub("%.$", ""))
end

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-------------------------------------------------------------------------------
-- Checking a certificate and its key
-------------------------------------------------------------------------------

--- check(fullchain, key, name [, time]) -> { leaf, fullchain, key } | nil, why
-- Whether this certificate can be served for name: a key that belongs to it, valid at time,
-- covering name, and both readable by ngx.ssl when it is there. `why` never holds the key.
function M.check(fullchain, key, name, time)
  if type(key) ~= "string" or key == "" then
    return nil, "no private key (a certificate uploaded without its key cannot be served)"
  end
  local chain, err = certs.parse(fullchain)
  if not chain then return nil, "the certificate cannot be read: " .. tostring(err and err.message or err) end
  local leaf = chain[1]
  local canonical_key, kerr = certs.normalize_key(key)
  if not canonical_key then return nil, "the private key cannot be read: " .. tostring(kerr and kerr.message) end
  local matches, merr = certs.key_matches(leaf.pem, canonical_key)
  if matches == nil then return nil, "the private key cannot be compared: " .. tostring(merr and merr.message) end
  if not matches then return nil, "the private key does not belong to the certificate" end
  time = time or now()
  if leaf.not_before and leaf.not_before > time then
    return nil, "the certificate is not valid before " .. tostring(leaf.not_before_utc)
  end
  if not leaf.not_after or leaf.not_after <= time then
    return nil, "the certificate expired at " .. tostring(leaf.not_after_utc)
  end
  if name and not certs.covers(leaf, name) then return nil, "the certificate does not cover " .. name end
  local pems = {}
  for i = 1, (chain.linked or #chain) do pems[i] = chain[i].pem end
  local out = { leaf = leaf, fullchain = table.concat(pems), key = canonical_key }
  local ngx = ngx_()
  if ngx and ngx.config and ngx.config.subsystem then
    local ssl = require "ngx.ssl"
    if not ssl.parse_pem_cert(out.fullchain) then return nil, "nginx cannot read the certificate" end
    if not ssl.parse_pem_priv_key(out.key) then return nil, "nginx cannot read the private key" end
  end
  return out
end

-------------------------------------------------------------------------------
-- The shared dict: what is served
-------------------------------------------------------------------------------
-- cert:<sha256>  the chain, leaf first (PEM)      key:<sha256>  its private key (PEM)
-- name:<name>    the sha256 served for the name   gen           bumped on each change
-- state          status() as JSON (no key)        due, lock     the refresh's turn and lock

local function read_state(dict)
  local text = dict:get("state")
  local st = text and json.decode(text)
  if type(st) ~= "table" then st = {} end
  if type(st.names) ~= "table" then st.names = {} end
  return st
end

local function write_state(dict, st)
  local text = assert(json.encode(st))
  return dict:set("state", text)
end

-- Puts the checked certificates into the dict: entries[name] = { fingerprint, id, not_after,
-- fullchain, key, source }. Names left out keep what they had, but for those in the list
-- `removed`, which are served no more.
local function install(dict, entries, st, removed)
  local changed = false
  for _, name in ipairs(removed or {}) do
    dict:delete("name:" .. name)
    st.names[name] = nil
    changed = true
  end
  for name, e in pairs(entries) do
    local fp = e.fingerprint
    if dict:get("name:" .. name) ~= fp then
      local ok, err = dict:set("cert:" .. fp, e.fullchain)
      if ok then ok, err = dict:set("key:" .. fp, e.key) end
      if not ok then return nil, "the shared dict cannot take the certificate: " .. tostring(err) end
      dict:set("name:" .. name, fp)
      changed = true
    end
    st.names[name] = { certificate_id = e.id, fingerprint = fp, not_after = e.not_after, source = e.source }
  end
  if changed then
    -- certificates no name points at any more
    local used = {}
    for _, info in pairs(st.names) do used[info.fingerprint] = true end
    for _, old in ipairs(st.fingerprints or {}) do
      if not used[old] then
        dict:delete("cert:" .. old)
        dict:delete("key:" .. old)
      end
    end
    local list = {}
    for fp in pairs(used) do list[#list + 1] = fp end
    table.sort(list)
    st.fingerprints = list
    dict:incr("gen", 1, 0)
  end
  return changed
end

-------------------------------------------------------------------------------
-- The disk cache
-------------------------------------------------------------------------------
-- <dir>/index.json   { names = { [name] = { fingerprint, certificate_id, not_after } } }
-- <dir>/<sha256>.pem the chain and then the key

local function cache_path(dir, file) return dir .. "/" .. file end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local data = f:read("*a")
  f:close()
  return data
end

local function ensure_dir(dir)
  if not os.rename(dir, dir) then
    os.execute("mkdir -p -m 700 " .. shell_quote(dir) .. " 2>/dev/null")
  end
  os.execute("chmod 700 " .. shell_quote(dir) .. " 2>/dev/null")
  return os.rename(dir, dir) and true or false
end

local function save_cache(dir, st, entries)
  for _, e in pairs(entries) do
    local ok, err = certs.write_file(cache_path(dir, e.fingerprint .. ".pem"), e.fullchain .. e.key, { private = true })
    if not ok then return nil, err end
  end
  local index = { names = {} }
  for name, info in pairs(st.names) do
    index.names[name] = { fingerprint = info.fingerprint, certificate_id = info.certificate_id,
      not_after = info.not_after }
  end
  local old = json.decode(read_file(cache_path(dir, "index.json")) or "null")
  local ok, err = certs.write_file(cache_path(dir, "index.json"), assert(json.encode(index, {})), { private = true })
  if not ok then return nil, err end
  local used = {}
  for _, info in pairs(index.names) do used[info.fingerprint] = true end
  if type(old) == "table" and type(old.names) == "table" then
    for _, info in pairs(old.names) do
      local fp = type(info) == "table" and info.fingerprint
      if type(fp) == "string" and fp:find("^%x+$") and not used[fp] then
        os.remove(cache_path(dir, fp .. ".pem"))
      end
    end
  end
  return true
end

--- load_cache(dir) -> entries (name -> entry) read back from dir and checked again
local function load_cache(dir)
  local index_text = read_file(cache_path(dir, "index.json"))
  local index = index_text and json.decode(index_text)
  local entries, count = {}, 0
  if type(index) ~= "table" or type(index.names) ~= "table" then
    if index_text then log("WARN", "the disk cache's index.json cannot be read: the cache is not used") end
    return entries, 0
  end
  for name, info in pairs(index.names) do
    local fp = type(info) == "table" and info.fingerprint
    if type(name) == "string" and type(fp) == "string" and fp:find("^%x+$") then
      local text = read_file(cache_path(dir, fp .. ".pem"))
      local blocks = text and certs.split_pem(text)
      local ok, why
      if blocks then
        ok, why = M.check(table.concat(blocks.certificates), blocks.keys[1], name)
      else
        why = "the cached file is missing or unreadable"
      end
      if ok and ok.leaf.sha256 == fp then
        entries[name] = { fingerprint = fp, id = info.certificate_id, not_after = ok.leaf.not_after_utc,
          fullchain = ok.fullchain, key = ok.key, source = "cache" }
        count = count + 1
      else
        log("WARN", ("the cached certificate for %s is not used: %s"):format(name, why or "fingerprint differs"))
      end
    else
      log("WARN", ("an entry of the disk cache's index.json is not used: %s"):format(
        type(name) == "string" and #name <= 253 and name:find("^[%w*][%w%-%.*]*$") and name or "(not a name)"))
    end
  end
  return entries, count
end

-------------------------------------------------------------------------------
-- Refresh
-------------------------------------------------------------------------------

local function domain_list(domains)
  if type(domains) == "function" then
    local ok, list = pcall(domains)
    if not ok then return nil, "the domains function failed: " .. tostring(list) end
    domains = list
  end
  if type(domains) ~= "table" then return nil, "domains must be a list of names" end
  local out, seen = {}, {}
  for _, d in ipairs(domains) do
    if type(d) == "string" and d ~= "" then
      d = canonical(d)
      if not seen[d] then
        seen[d] = true
        out[#out + 1] = d
      end
    end
  end
  return out
end

local function get_client()
  if S.client then return S.client end
  local c = S.opts.client
  if type(c) == "table" and type(c.call) == "function" then
    S.client = c
  else
    local client, err = require("tcssl").new(c or {})
    if not client then return nil, err end
    S.client = client
  end
  return S.client
end

local function describe_error(err)
  if type(err) == "table" then
    return ("%s%s"):format(tostring(err.code or err.kind or "error"), err.message and (": " .. err.message) or "")
  end
  return tostring(err)
end

-- The account's issued certificates and the names they cover, for domains = "all": names (sorted),
-- by_name (name -> the items covering it, latest end first) | nil, why. CA certificates (no key
-- to serve) and those that have ended are left out.
local function account_certificates(client, time)
  local items, err = require("tcssl.pages").all(client, "DescribeCertificates", {}, { max_items = 5000 })
  if not items then return nil, "DescribeCertificates: " .. describe_error(err) end
  local names, by_name, ends = {}, {}, {}
  for _, item in ipairs(items) do
    local id = item.CertificateId
    local until_ = type(item.CertEndTime) == "string" and certs.parse_api_time(item.CertEndTime) or nil
    if type(id) == "string" and item.Status == 1 and item.CertificateType ~= "CA" and (not until_ or until_ > time) then
      ends[id] = until_ or 0
      local seen = {}
      for _, n in ipairs(certs.api_names(item)) do
        if type(n) == "string" and n:find("^[%w*][%w%-%.*]*$") then
          n = canonical(n)
          if not seen[n] then
            seen[n] = true
            if not by_name[n] then
              by_name[n] = {}
              names[#names + 1] = n
            end
            table.insert(by_name[n], item)
          end
        end
      end
    end
  end
  local function latest_first(a, b)
    local ea, eb = ends[a.CertificateId], ends[b.CertificateId]
    if ea ~= eb then return ea > eb end
    return a.CertificateId < b.CertificateId
  end
  for _, list in pairs(by_name) do table.sort(list, latest_first) end
  table.sort(names)
  return names, by_name
end

-- The best certificate for one name among items (certs.find's, or the account's for "all"):
-- entry | nil, why. downloads keeps this refresh's downloads by id, for certificates that
-- cover several names.
local function best_for(client, dict, name, current, time, items, downloads)
  if #items == 0 then return nil, "no issued certificate in the account covers " .. name end
  local reasons = {}
  for _, item in ipairs(items) do
    local id = item.CertificateId
    if current and current.certificate_id == id and dict:get("cert:" .. current.fingerprint) then
      return { keep = true }
    end
    local bad = dict:get("bad:" .. id)
    if bad then
      reasons[#reasons + 1] = id .. ": " .. bad
    else
      local got = downloads[id]
      if not got then
        local dl, derr = certs.download(client, id)
        got = { dl = dl, err = derr }
        downloads[id] = got
      end
      local dl, derr = got.dl, got.err
      local ok, why
      if dl then
        ok, why = M.check(dl.fullchain, dl.key, name, time)
      else
        why = "DownloadCertificate: " .. describe_error(derr)
      end
      if ok then
        return { fingerprint = ok.leaf.sha256, id = id, not_after = ok.leaf.not_after_utc,
          fullchain = ok.fullchain, key = ok.key, source = "api", leaf = ok.leaf }
      end
      log("ERR", ("certificate %s for %s is not served: %s"):format(id, name, why))
      if dl then dict:set("bad:" .. id, why, S.opts.retry_bad) end
      reasons[#reasons + 1] = id .. ": " .. why
    end
  end
  return nil, table.concat(reasons, "; ")
end

--- refresh() -> true | nil, err: one refresh now, in this worker (a timer's; it needs
-- cosockets). start() calls it when this worker's turn comes.
function M.refresh()
  local opts, dict = S.opts, S.dict
  if not opts then return config_error("tcssl.serve.start was not called") end
  local pid = ngx_() and ngx_().worker.pid() or 0
  local locked = dict:add("lock", pid, opts.lock_timeout)
  if not locked then return nil, "another worker is refreshing" end
  local ok, result, err = pcall(function()
    local client, cerr = get_client()
    if not client then return nil, "the client cannot be made: " .. describe_error(cerr) end
    local time = now()
    local names, listed
    if opts.domains == "all" then
      names, listed = account_certificates(client, time)
      if not names then
        log("ERR", "refresh failed, what is served stays: " .. listed)
        return nil, listed
      end
    else
      local nerr
      names, nerr = domain_list(opts.domains)
      if not names then return nil, nerr end
    end
    local st = read_state(dict)
    local entries, failures, downloads = {}, {}, {}
    for _, name in ipairs(names) do
      local current = st.names[name]
      local items, ferr
      if listed then
        items = listed[name]
      else
        items, ferr = certs.find(client, name, { time = time })
      end
      local e, why
      if items then
        e, why = best_for(client, dict, name, current, time, items, downloads)
      else
        why = "DescribeCertificates: " .. describe_error(ferr)
      end
      if e and not e.keep then
        entries[name] = e
        log("NOTICE", ("serving certificate %s (%s, until %s) for %s"):format(e.id, e.fingerprint:sub(1, 16),
          e.not_after, name))
      elseif not e then
        failures[#failures + 1] = name .. ": " .. why
        log("ERR", ("refresh for %s failed, %s: %s"):format(name,
          current and ("still serving " .. tostring(current.certificate_id)) or "the fallback is served", why))
      end
      -- the warning: what is served after this refresh ends soon, and nothing newer passed
      local ends
      if e and e.leaf then
        ends = e.leaf.not_after
      elseif current then
        ends = certs.parse_api_time(tostring(current.not_after))
      end
      if ends and ends - time < opts.warn_days * 86400 then
        log("WARN", ("the certificate served for %s (%s) ends %s, and the account has no newer one"):format(name,
          tostring(e and e.id or current.certificate_id), certs.format_utc(ends) or "?"))
      end
    end
    -- with "all", a name no issued certificate covers any more is served no more
    local removed = {}
    if listed then
      for name in pairs(st.names) do
        if not listed[name] then
          removed[#removed + 1] = name
          log("NOTICE", ("no certificate of the account covers %s any more: the fallback is served"):format(name))
        end
      end
    end
    local changed, ierr = install(dict, entries, st, removed)
    if changed == nil then return nil, ierr end
    st.last_refresh = certs.format_utc(time)
    st.refreshes = (st.refreshes or 0) + 1
    st.last_error = #failures > 0 and table.concat(failures, "; ") or json.null
    write_state(dict, st)
    if opts.cache_dir and changed then
      local saved, serr = save_cache(opts.cache_dir, st, entries)
      if not saved then log("ERR", "the disk cache cannot be written: " .. describe_error(serr)) end
    end
    return true
  end)
  dict:delete("lock")
  if not ok then
    log("ERR", "refresh failed: " .. tostring(result))
    return nil, tostring(result)
  end
  return result, err
end

local function tick(premature)
  if premature then return end
  local dict, opts = S.dict, S.opts
  if dict:add("due", true, opts.refresh) then
    local ok, err = M.refresh()
    if not ok and err ~= "another worker is refreshing" then
      local st = read_state(dict)
      st.last_error = err
      write_state(dict, st)
    end
  end
end

-------------------------------------------------------------------------------
-- Start
-------------------------------------------------------------------------------

local function positive(v, default, what)
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v <= 0 then error(what .. " must be a positive number", 0) end
  return v
end

--- start(opts) -> true | nil, err (in init_worker_by_lua). opts: dict (a lua_shared_dict
-- name, required), domains (a list of names, wildcards as "*.example.com", or a function
-- returning one, or "all": every issued certificate of the account, for each name it covers),
-- client (tcssl.new options or a client; default the default credential
-- chain), refresh (seconds between refreshes, default 300), cache_dir, warn_days (default 14),
-- retry_bad (seconds before a failed certificate is tried again, default 3600), tick (how
-- often workers look whether a refresh is due, default min(1, refresh)), lock_timeout
-- (default 120).
function M.start(opts)
  local ngx = ngx_()
  if not ngx then return config_error("tcssl.serve runs inside nginx") end
  if type(opts) ~= "table" then return config_error("start takes a table of options") end
  local dict = type(opts.dict) == "string" and ngx.shared[opts.dict]
  if not dict then return config_error("dict must name a lua_shared_dict") end
  if type(opts.domains) ~= "table" and type(opts.domains) ~= "function" and opts.domains ~= "all" then
    return config_error('domains must be a list of names, a function or "all"')
  end
  local ok, err = pcall(function()
    local o = {}
    for k, v in pairs(opts) do o[k] = v end
    o.refresh = positive(opts.refresh, 300, "refresh")
    o.warn_days = positive(opts.warn_days, 14, "warn_days")
    o.retry_bad = positive(opts.retry_bad, 3600, "retry_bad")
    o.tick = positive(opts.tick, math.min(1, o.refresh), "tick")
    o.lock_timeout = positive(opts.lock_timeout, 120, "lock_timeout")
    if o.cache_dir ~= nil and (type(o.cache_dir) ~= "string" or o.cache_dir == "") then
      error("cache_dir must be a folder name", 0)
    end
    return o
  end)
  if not ok then return config_error(err) end
  opts = err
  S.opts, S.dict, S.client = opts, dict, nil
  S.gen, S.names, S.count, S.parsed = nil, {}, 0, {}
  if opts.cache_dir then
    if not ensure_dir(opts.cache_dir) then
      log("ERR", "the cache folder " .. opts.cache_dir .. " cannot be made")
    elseif dict:add("loaded", true) then
      local entries, count = load_cache(opts.cache_dir)
      if count > 0 then
        local st = read_state(dict)
        install(dict, entries, st)
        write_state(dict, st)
        log("NOTICE", ("%d certificate(s) loaded from the disk cache"):format(count))
      end
    end
  end
  local tok, terr = ngx.timer.at(0, tick)
  if tok then tok, terr = ngx.timer.every(opts.tick, tick) end
  if not tok then
    return nil, errors.new("config", "TimerFailed", "cannot start the refresh timer: " .. tostring(terr))
  end
  return true
end

-------------------------------------------------------------------------------
-- The handshake
-------------------------------------------------------------------------------

local ssl -- ngx.ssl, loaded at the first handshake

-- The parsed chain and key for a fingerprint, cached in the worker: entry | false.
local function parsed(dict, fp)
  local p = S.parsed[fp]
  if p ~= nil then return p end
  local chain, key = dict:get("cert:" .. fp), dict:get("key:" .. fp)
  p = false
  if chain and key then
    local c, k = ssl.parse_pem_cert(chain), ssl.parse_pem_priv_key(key)
    if c and k then p = { cert = c, key = k } end
  end
  S.parsed[fp] = p
  return p
end

local function lookup(dict, name)
  local fp = dict:get("name:" .. name)
  if not fp then
    local parent = name:match("^[^.]+(%..+%..+)$")
    if parent then fp = dict:get("name:*" .. parent) end
  end
  return fp and parsed(dict, fp) or false
end

--- certificate() (in ssl_certificate_by_lua): serves the certificate for the SNI name, if
-- one was found for it; otherwise nginx's ssl_certificate stays. Returns true when it set one.
function M.certificate()
  local dict = S.dict
  if not dict then return false end
  ssl = ssl or require "ngx.ssl"
  local name = ssl.server_name()
  if not name then return false end
  local gen = dict:get("gen")
  if gen ~= S.gen then
    S.gen, S.names, S.count, S.parsed = gen, {}, 0, {}
  end
  local names = S.names
  local entry = names[name]
  if entry == nil then
    entry = lookup(dict, canonical(name))
    if S.count >= MAX_LOCAL_NAMES then
      names = {}
      S.names, S.count = names, 0
    end
    names[name], S.count = entry, S.count + 1
  end
  if not entry then return false end
  local ok, err = ssl.clear_certs()
  if ok then ok, err = ssl.set_cert(entry.cert) end
  if ok then ok, err = ssl.set_priv_key(entry.key) end
  if not ok then
    log("ERR", "cannot set the certificate for " .. name .. ": " .. tostring(err))
    return false
  end
  return true
end

-------------------------------------------------------------------------------
-- Status
-------------------------------------------------------------------------------

--- status() -> { names = { [name] = { certificate_id, fingerprint, not_after, source } },
-- last_refresh, refreshes, last_error }. In a content handler it also answers with it as JSON.
function M.status()
  local dict = S.dict
  local st = dict and read_state(dict) or { names = {} }
  local out = { names = st.names, last_refresh = st.last_refresh, refreshes = st.refreshes or 0,
    last_error = st.last_error ~= json.null and st.last_error or nil }
  local ngx = ngx_()
  if ngx and ngx.get_phase() == "content" then
    ngx.header["Content-Type"] = "application/json"
    ngx.say(assert(json.encode(out, {})))
  end
  return out
end

return M
