// TC3 signatures per second through the official Node.js SDK's signer (Sign.sign3 of
// tencentcloud-sdk-nodejs-common), signing the request of bench/fixtures.lua, two ways:
//   sign.node        as the SDK's own request path calls it: the parameters as an object (the
//                    signer serialises them to hash the body) and the request's header object
//   sign.node.bytes  the body handed over as a Buffer of the exact bytes, so that only the
//                    hashing and HMAC work is measured, as for tcssl.core.tc3_sign
// Both sign the same bytes as tcssl, so all signers must produce the same header.
//   node bench/node/sign.js
"use strict";
const { rate, emit, load } = require("./lib");

const Sign = load("tencentcloud-sdk-nodejs-common/tencentcloud/common/sign").default;

// bench/fixtures.lua: F.SIGN, F.SECRET_ID, F.SECRET_KEY, F.TIMESTAMP
const common = {
  method: "POST",
  url: "https://ssl.tencentcloudapi.com/",
  timestamp: 1764000000,
  service: "ssl",
  secretId: "AKIDbenchbenchbenchbenchbenchbench01",
  secretKey: "benchsecretkeybenchsecretkeybench1",
};
const asSdk = Object.assign({}, common, {
  payload: { Limit: 10, Offset: 0, SearchKey: "bench.example.com" },
  headers: {
    "Content-Type": "application/json",
    Host: "ssl.tencentcloudapi.com",
    "X-TC-Action": "DescribeCertificates",
    "X-TC-Region": "ap-guangzhou",
    "X-TC-Timestamp": 1764000000,
    "X-TC-Version": "2019-12-05",
    "X-TC-RequestClient": "SDK_NODEJS_bench",
  },
});
const asBytes = Object.assign({}, common, {
  payload: Buffer.from('{"Limit":10,"Offset":0,"SearchKey":"bench.example.com"}'),
  headers: { "Content-Type": "application/json" },
});

for (const [id, args] of [["sign.node", asSdk], ["sign.node.bytes", asBytes]]) {
  const { best, rounds } = rate((n) => {
    for (let i = 0; i < n; i++) Sign.sign3(args);
  }, { batch: 200 });
  emit({ id, rate: best, unit: "signatures/s", rounds, authorization: Sign.sign3(args) });
}
