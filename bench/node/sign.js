// TC3 signatures through the official Node.js SDK's signer (Sign.sign3 of
// tencentcloud-sdk-nodejs-common), as the SDK's own request path calls it (the parameters as
// an object, which the signer serialises to hash the body), signing the request of
// bench/fixtures.lua; a program of the round protocol (bench/node/lib.js). Its last line
// carries the Authorization value, which must equal tcssl's.
//   node bench/node/sign.js
"use strict";
const { serve, load } = require("./lib");

const Sign = load("tencentcloud-sdk-nodejs-common/tencentcloud/common/sign").default;

// bench/fixtures.lua: F.SIGN, F.SECRET_ID, F.SECRET_KEY, F.TIMESTAMP
const args = {
  method: "POST",
  url: "https://ssl.tencentcloudapi.com/",
  timestamp: 1764000000,
  service: "ssl",
  secretId: "AKIDbenchbenchbenchbenchbenchbench01",
  secretKey: "benchsecretkeybenchsecretkeybench1",
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
};

serve((n) => {
  for (let i = 0; i < n; i++) Sign.sign3(args);
}, { batch: 200, warmOps: 1e9, warmSeconds: 1 }, () => ({ authorization: Sign.sign3(args) }));
