-- tcssl.cli.jmespath, the evaluator behind `tcssl --filter`, against cases chosen from the
-- JMESPath compliance tests (github.com/jmespath/jmespath.test, tests/*.json: basic, indices,
-- slice, wildcard, multiselect, pipe, filters, boolean, literal, identifiers, functions,
-- syntax), rewritten here as { given, expression, result } with the result as JSON text, or
-- `error = true` where the compliance tests expect an error. Each group names its file.
local json = require "tcssl.json"
local jmespath = require "tcssl.cli.jmespath"

local function canonical(v)
  return assert(json.encode(v == nil and json.null or v, {}))
end

-- A value as sorted JSON text, read back through tcssl.json once, which drops the nulls
-- inside objects and arrays the same way on both sides (the last spec checks them itself).
local function normal(v)
  local back, err = json.decode(canonical(v))
  assert(err == nil, err)
  return canonical(back)
end

local GROUPS = {
  { "basic.json", [==[{"foo": {"bar": {"baz": "correct"}}}]==], {
    { "foo", [==[{"bar": {"baz": "correct"}}]==] },
    { "foo.bar.baz", [==["correct"]==] },
    { "foo.bar.baz.bad", "null" },
    { "foo.bad", "null" },
    { "bad.morebad.morebad", "null" },
  } },
  { "basic.json", [==[{"foo": {"bar": ["one", "two", "three"]}}]==], {
    { "foo.bar", [==[["one", "two", "three"]]==] },
  } },
  { "indices.json", [==[{"foo": {"bar": ["zero", "one", "two"]}}]==], {
    { "foo.bar[0]", [==["zero"]==] },
    { "foo.bar[-1]", [==["two"]==] },
    { "foo.bar[-3]", [==["zero"]==] },
    { "foo.bar[-4]", "null" },
    { "foo.bar[3]", "null" },
  } },
  { "indices.json", [==[{"foo": [[{"bar": ["one"]}], [{"bar": ["two"]}, {"bar": ["three"]}]]}]==], {
    { "foo[]", [==[[{"bar": ["one"]}, {"bar": ["two"]}, {"bar": ["three"]}]]==] },
    { "foo[].bar[0]", [==[["one", "two", "three"]]==] },
    { "foo[*][0].bar[0]", [==[["one", "two"]]==] },
  } },
  { "slice.json", [==[{"foo": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "bar": {"baz": 1}}]==], {
    { "foo[0:5]", "[0, 1, 2, 3, 4]" },
    { "foo[::2]", "[0, 2, 4, 6, 8]" },
    { "foo[::-1]", "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]" },
    { "foo[-3:]", "[7, 8, 9]" },
    { "foo[8:2:-2]", "[8, 6, 4]" },
    { "foo[10:]", "[]" },
    { "bar[:2]", "null" },
    { "foo[::0]", error = true },
  } },
  { "wildcard.json", [==[{"foo": {"bar": {"baz": "val"}, "other": {"baz": "val"}, "other2": {"baz": "val"}}}]==], {
    { "foo.*.baz", [==[["val", "val", "val"]]==] },
    { "foo.bar.*", [==[["val"]]==] },
    { "*.bar", [==[[{"baz": "val"}]]==] },
  } },
  { "wildcard.json", [==[{"foo": [{"bar": "one"}, {"bar": "two"}, {"bar": "three"}, {"notbar": "four"}]}]==], {
    { "foo[*].bar", [==[["one", "two", "three"]]==] },
    { "foo[*].notbar", [==[["four"]]==] },
    { "foo[*].bar | [0]", [==["one"]==] },
  } },
  { "multiselect.json", [==[{"foo": {"bar": "bar", "baz": "baz", "qux": "qux",
      "nested": {"one": {"a": "first"}}}}]==], {
    { "foo.[bar, baz]", [==[["bar", "baz"]]==] },
    { "foo.{bar: bar, baz: baz}", [==[{"bar": "bar", "baz": "baz"}]==] },
    { "foo.{\"bar\": bar, \"baz\": baz}", [==[{"bar": "bar", "baz": "baz"}]==] },
    { "foo.[bar, nested.one.a]", [==[["bar", "first"]]==] },
    { "foo.{bar: bar, noexist: noexist}", [==[{"bar": "bar", "noexist": null}]==] },
    { "foo.[bar, noexist]", [==[["bar", null]]==] },
    { "foo.{bar:bar,baz}", error = true },
    { "foo.[bar,]", error = true },
  } },
  { "multiselect.json", [==[{"reservations": [{"instances": [{"id": "id1", "state": "running"},
      {"id": "id2", "state": "stopped"}]}, {"instances": [{"id": "id3", "state": "running"}]}]}]==], {
    { "reservations[*].instances[*].[id, state]",
      [==[[[["id1", "running"], ["id2", "stopped"]], [["id3", "running"]]]]==] },
    { "reservations[].instances[].[id, state]", [==[[["id1", "running"], ["id2", "stopped"], ["id3", "running"]]]==] },
    { "reservations[].instances[].{id: id, s: state}",
      [==[[{"id": "id1", "s": "running"}, {"id": "id2", "s": "stopped"}, {"id": "id3", "s": "running"}]]==] },
  } },
  { "pipe.json", [==[{"foo": {"bar": {"baz": "subkey"}, "other": {"baz": "subkey"}}}]==], {
    { "foo.*.baz | [0]", [==["subkey"]==] },
    { "foo.*.baz | [1]", [==["subkey"]==] },
    { "foo | bar", [==[{"baz": "subkey"}]==] },
    { "foo | nothere", "null" },
    { "foo | bar | baz", [==["subkey"]==] },
    { "foo.* | [0].baz", [==["subkey"]==] },
  } },
  { "filters.json", [==[{"foo": [{"name": "a", "age": 10}, {"name": "b", "age": 20}, {"name": "c", "age": 30}]}]==], {
    { "foo[?name == 'a']", [==[[{"name": "a", "age": 10}]]==] },
    { "foo[?age > `15`].name", [==[["b", "c"]]==] },
    { "foo[?age >= `20` && name != 'c'].name", [==[["b"]]==] },
    { "foo[?age < `15` || name == 'c'].name", [==[["a", "c"]]==] },
    { "foo[?!(age == `20`)].name", [==[["a", "c"]]==] },
    { "foo[?age > 'x'].name", "[]" },
    { "foo[?name == `\"b\"`] | [0].age", "20" },
  } },
  { "boolean.json", [==[{"True": true, "False": false, "Number": 5, "EmptyList": [], "Zero": 0}]==], {
    { "True && False", "false" },
    { "Number || EmptyList", "5" },
    { "EmptyList || True", "true" },
    { "!EmptyList", "true" },
    { "Zero || Number", "0" },
  } },
  { "literal.json", [==[{"foo": [{"name": "a"}, {"name": "b"}]}]==], {
    { "`\"foo\"`", [==["foo"]==] },
    { "`[1, 2]`", "[1, 2]" },
    { "`{\"a\": \"b\"}`.a", [==["b"]==] },
    { "'raw \\' quote'", [==["raw ' quote"]==] },
    { "foo[?name == `\"a\"`].name", [==[["a"]]==] },
  } },
  { "identifiers.json", [==[{"with space": 1, "with.dot": 2, "__x": 3, "中文": 4}]==], {
    { "\"with space\"", "1" },
    { "\"with.dot\"", "2" },
    { "__x", "3" },
    { "\"中文\"", "4" },
  } },
  { "functions.json", [==[{"foo": -1, "numbers": [-1, 3, 4, 5], "strings": ["a", "b", "c"],
      "people": [{"age": 20, "name": "b"}, {"age": 40, "name": "a"}, {"age": 30, "name": "c"}],
      "str": "Str", "obj": {"k2": 2, "k1": 1}}]==], {
    { "abs(foo)", "1" },
    { "length(strings)", "3" },
    { "length('✓foo')", "4" },
    { "length(obj)", "2" },
    { "max(numbers)", "5" },
    { "min(numbers)", "-1" },
    { "sum(numbers)", "11" },
    { "avg(numbers)", "2.75" },
    { "sort(strings)", [==[["a", "b", "c"]]==] },
    { "sort_by(people, &age)[].name", [==[["b", "c", "a"]]==] },
    { "max_by(people, &age).name", [==["a"]==] },
    { "min_by(people, &age).name", [==["b"]==] },
    { "reverse(numbers)", "[5, 4, 3, -1]" },
    { "join(', ', strings)", [==["a, b, c"]==] },
    { "keys(obj)", [==[["k1", "k2"]]==] },
    { "values(obj)", "[1, 2]" },
    { "contains(strings, 'a')", "true" },
    { "contains(str, 'tr')", "true" },
    { "starts_with(str, 'S')", "true" },
    { "ends_with(str, 'r')", "true" },
    { "map(&name, people)", [==[["b", "a", "c"]]==] },
    { "to_string(numbers)", [==["[-1,3,4,5]"]==] },
    { "to_number('12')", "12" },
    { "type(obj)", [==["object"]==] },
    { "not_null(nothere, str)", [==["Str"]==] },
    { "merge(obj, `{\"k3\": 3}`)", [==[{"k1": 1, "k2": 2, "k3": 3}]==] },
    { "length(foo)", error = true },
    { "sum(strings)", error = true },
    { "unknown_function(foo)", error = true },
    { "abs(foo, foo)", error = true },
  } },
  { "syntax.json", [==[{"foo": 1}]==], {
    { "foo.", error = true },
    { ".foo", error = true },
    { "foo[", error = true },
    { "[", error = true },
    { "foo..bar", error = true },
    { "foo[0", error = true },
    { "\"foo", error = true },
    { "foo ||", error = true },
    { "", error = true },
    { "@", [==[{"foo": 1}]==] },
  } },
}

describe("tcssl.cli.jmespath", function()
  for _, group in ipairs(GROUPS) do
    local file, given_text, cases = group[1], group[2], group[3]
    it(("agrees with the compliance cases of %s on %s"):format(file, given_text:sub(1, 40)), function()
      local given = assert(json.decode(given_text))
      for _, case in ipairs(cases) do
        local expression = case[1]
        local result, err = jmespath.search(expression, given)
        if case.error then
          assert.is_nil(result, expression)
          assert.is_string(err, expression)
        else
          assert.is_nil(err, expression .. ": " .. tostring(err))
          local want, derr = json.decode(case[2])
          assert(derr == nil, derr)
          assert.equal(normal(want), normal(result), expression)
        end
      end
    end)
  end

  it("keeps a JSON null in the data as null, and never raises on data of any shape", function()
    local data = { a = json.null, list = json.array{ 1, "x", true, json.array(), {} } }
    assert.equal("null", canonical((jmespath.search("a", data))))
    assert.equal('["x"]', canonical((jmespath.search("list[?type(@) == 'string']", data))))
    -- multiselects keep a missing value as null (multiselect.json)
    assert.equal('{"a":null,"b":null}', canonical((jmespath.search("{a: a, b: nothere}", data))))
    assert.equal('[null,1]', canonical((jmespath.search("[a, list[0]]", data))))
    for _, expr in ipairs{ "list[*].x", "list[].y", "*.*", "list[?@]", "length(list)", "a.b[0]" } do
      local ok = pcall(jmespath.search, expr, data)
      assert.is_true(ok, expr)
    end
  end)
end)
