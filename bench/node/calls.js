// Sequential calls of DescribeCertificates { Limit: 10 } through the official Node.js SDK
// (CommonClient of tencentcloud-sdk-nodejs-common) against bench/run.sh's static nginx
// responder, as a program of the round protocol (bench/node/lib.js). The SDK is given a
// keep-alive agent limited to one socket, so that it too reuses one connection, as tcssl and
// the libcurl loop do.
//   node bench/node/calls.js http|https PORT N [CA_FILE]
"use strict";
const fs = require("fs");
const http = require("http");
const https = require("https");
const { serve, load } = require("./lib");

const { CommonClient } = load("tencentcloud-sdk-nodejs-common");

const [scheme, port, nText, caFile] = process.argv.slice(2);
const n = Number(nText);
if ((scheme !== "http" && scheme !== "https") || !port || !(n >= 0)) {
  console.error("usage: calls.js http|https PORT N [CA_FILE]");
  process.exit(2);
}
const agent = scheme === "https"
  ? new https.Agent({ keepAlive: true, maxSockets: 1, ca: caFile ? fs.readFileSync(caFile) : undefined })
  : new http.Agent({ keepAlive: true, maxSockets: 1 });
let connects = 0;
const createConnection = agent.createConnection.bind(agent);
agent.createConnection = (...args) => {
  connects++;
  return createConnection(...args);
};

const endpoint = "127.0.0.1:" + port;
// bench/fixtures.lua: F.SECRET_ID, F.SECRET_KEY, F.REGION
const client = new CommonClient(endpoint, "2019-12-05", {
  credential: { secretId: "AKIDbenchbenchbenchbenchbenchbench01", secretKey: "benchsecretkeybenchsecretkeybench1" },
  region: "ap-guangzhou",
  profile: { httpProfile: { endpoint, protocol: scheme + "://", agent } },
});

async function main() {
  const first = await client.request("DescribeCertificates", { Limit: 10 });
  if (!first || !first.Certificates || first.Certificates.length !== n) {
    throw new Error("unexpected first response");
  }
  let failures = 0;
  await serve(async (count) => {
    for (let i = 0; i < count; i++) {
      const r = await client.request("DescribeCertificates", { Limit: 10 });
      if (!r || !r.Certificates) failures++;
    }
  }, {}, () => {
    agent.destroy();
    return { failures, connects };
  });
}

main().catch((e) => {
  console.error("calls.js:", e && e.message ? e.message : e);
  process.exit(1);
});
