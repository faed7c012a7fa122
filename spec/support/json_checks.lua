--- Checked calls of tcssl.json for its specs: encode must give text and decode a value, or each
-- nil and a message that names it, and neither may raise.
--
--   local jc = require "spec.support.json_checks"
--   jc.enc(v) -> text; jc.dec(text) -> value; jc.enc_fails(v) / jc.dec_fails(text) -> message
--   jc.HAS_INT: the runtime has an integer subtype (Lua 5.4, not LuaJIT)
-- luacheck: read globals math.type math.tointeger (Lua 5.4's, used where the runtime has them)
local json = require "tcssl.json"
local assert = require "luassert"

local M = {}

M.HAS_INT = math.type ~= nil and math.tointeger ~= nil

function M.enc(v)
  local ok, text, err = pcall(json.encode, v)
  assert.is_true(ok, "json.encode raised: " .. tostring(text))
  assert.is_string(text, err)
  return text
end

function M.dec(text)
  local ok, v, err = pcall(json.decode, text)
  assert.is_true(ok, "json.decode raised: " .. tostring(v))
  assert.is_nil(err)
  return v
end

function M.enc_fails(v)
  local ok, text, err = pcall(json.encode, v)
  assert.is_true(ok, "json.encode raised: " .. tostring(text))
  assert.is_nil(text)
  assert.is_string(err)
  assert.matches("^json%.encode: ", err)
  return err
end

function M.dec_fails(text)
  local ok, v, err = pcall(json.decode, text)
  assert.is_true(ok, "json.decode raised: " .. tostring(v))
  assert.is_nil(v, "decoded " .. tostring(text))
  assert.is_string(err)
  assert.matches("^json%.decode: ", err)
  return err
end

return M
