-- Reading a reply: the HTTP status and content type, the JSON body, then the API's envelope
-- around the result. Each step's failure is a `protocol` error with an excerpt of the body;
-- an error the API itself reports is an `api` error with its Code, Message and RequestId.
-- Whether any of them is worth another attempt is tcssl.retry's question, not this one's.
local json = require "tcssl.json"
local errors = require "tcssl.error"

local M = {}

local excerpt = errors.excerpt

--- decode(status, headers, body [, plan]) -> doc, nil, checked | nil, err: a 200 reply whose
-- body is a JSON object; with a plan (tcssl.schema.read_plan), what tcssl.json.decode found
-- reading it under the plan.
function M.decode(status, headers, body, plan)
  local ctype = headers["content-type"]
  if type(ctype) ~= "string" then ctype = "" end
  if status ~= 200 then
    return nil, errors.new("protocol", "UnexpectedStatus",
      ("HTTP %d: %s"):format(status, excerpt(body)), { http_status = status })
  end
  if not ctype:find("json", 1, true) and body:find("^%s*<") then
    return nil, errors.new("protocol", "UnexpectedContentType",
      ("expected JSON, got %s: %s"):format(ctype ~= "" and ctype or "no content type",
      excerpt(body)), { http_status = status })
  end
  local doc, jerr = json.decode(body, plan) -- jerr: the message, or with a plan what it found
  if doc == nil then
    return nil, errors.new("protocol", "InvalidJSON",
      ("response is not valid JSON (%s): %s"):format(jerr, excerpt(body)),
      { http_status = status })
  end
  if type(doc) ~= "table" then
    return nil, errors.new("protocol", "MissingResponse",
      "response JSON is not an object: " .. excerpt(body), { http_status = status })
  end
  return doc, nil, jerr -- checked, with a plan
end

--- v3(doc, status, body) -> the Response contents | nil, err. API 3.0 wraps every result as
-- {"Response": {..., "RequestId"}}, and every error as {"Response": {"Error": {Code, Message}, ...}}.
function M.v3(doc, status, body)
  local resp = doc.Response
  if type(resp) ~= "table" or json.is_array(resp) then
    return nil, errors.new("protocol", "MissingResponse",
      "response JSON has no Response object: " .. excerpt(body), { http_status = status })
  end
  local e = resp.Error
  if e ~= nil then
    local code = type(e) == "table" and type(e.Code) == "string" and e.Code ~= "" and e.Code or "UnknownError"
    local message = type(e) == "table" and type(e.Message) == "string" and e.Message or ""
    return nil, errors.new("api", code, message, {
      request_id = type(resp.RequestId) == "string" and resp.RequestId or nil, http_status = status,
    })
  end
  return resp
end

--- legacy(doc, status, body) -> data | nil, err. The legacy 2017 API answers
-- {"code": 0, "message": "", "codeDesc": "Success", "data": {...}}; success gives data (an
-- empty table when there is none), a non-zero code an `api` error named by codeDesc.
function M.legacy(doc, status, body)
  local code = doc.code
  if type(code) ~= "number" then
    return nil, errors.new("protocol", "MissingResponse",
      "legacy response has no numeric code: " .. excerpt(body), { http_status = status })
  end
  if code ~= 0 then
    local desc = type(doc.codeDesc) == "string" and doc.codeDesc ~= "" and doc.codeDesc or tostring(code)
    return nil, errors.new("api", desc, type(doc.message) == "string" and doc.message or "", {
      http_status = status, legacy_code = code,
    })
  end
  return type(doc.data) == "table" and doc.data or {}
end

return M
