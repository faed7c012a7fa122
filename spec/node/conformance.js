// The emulator driven by the official Node.js SDK (CommonClient of tencentcloud-sdk-nodejs-common,
// installed by mk/node.mk into build/node-sdk/). Prints TAP: "ok N - ..." / "not ok N - ...".
//   node spec/node/conformance.js PORT SECRET_ID SECRET_KEY TEMP_ID TEMP_KEY TOKEN CERT KEY CERT2 KEY2
// The SDK is given the endpoint ssl.tencentcloudapi.com:PORT (it takes the TC3 service name from
// the first label) and an HTTP agent whose DNS lookup answers 127.0.0.1: nothing leaves loopback.
"use strict";
const fs = require("fs");
const http = require("http");
const path = require("path");
const zlib = require("zlib");

const sdkDir = process.env.TCSSL_NODE_SDK || path.join(__dirname, "..", "..", "build", "node-sdk");
const { CommonClient } = require(path.join(sdkDir, "node_modules", "tencentcloud-sdk-nodejs-common"));

const [port, secretId, secretKey, tempId, tempKey, token, certFile, keyFile, cert2File, key2File] = process.argv.slice(2);
if (!key2File) {
  console.error("usage: conformance.js PORT SECRET_ID SECRET_KEY TEMP_ID TEMP_KEY TOKEN CERT KEY CERT2 KEY2");
  process.exit(2);
}
const certPem = fs.readFileSync(certFile, "utf8");
const keyPem = fs.readFileSync(keyFile, "utf8");
const cert2Pem = fs.readFileSync(cert2File, "utf8");
const key2Pem = fs.readFileSync(key2File, "utf8");

// Every name resolves to 127.0.0.1, whatever the SDK asks for.
function loopback(hostname, options, callback) {
  if (typeof options === "function") { callback = options; options = {}; }
  if (options && options.all) return callback(null, [{ address: "127.0.0.1", family: 4 }]);
  return callback(null, "127.0.0.1", 4);
}
const agent = new http.Agent({ keepAlive: false, lookup: loopback });
const endpoint = "ssl.tencentcloudapi.com:" + port;

function client(o = {}) {
  return new CommonClient(endpoint, "2019-12-05", {
    credential: { secretId: o.id || secretId, secretKey: o.key || secretKey, token: o.token },
    region: "ap-guangzhou",
    profile: {
      signMethod: o.signMethod || "TC3-HMAC-SHA256",
      language: o.language,
      httpProfile: { endpoint, protocol: "http://", reqMethod: o.method || "POST", agent, reqTimeout: 10 },
    },
  });
}

let n = 0, failed = 0;
function report(ok, name, why) {
  n++;
  if (!ok) failed++;
  console.log(`${ok ? "ok" : "not ok"} ${n} - ${name}`);
  if (!ok && why) console.log("# " + String(why).split("\n").join("\n# "));
}
async function test(name, fn) {
  try {
    await fn();
    report(true, name);
  } catch (e) {
    report(false, name, e && e.stack ? e.stack : e);
  }
}
function check(cond, what) {
  if (!cond) throw new Error(what);
}
async function refused(promise, code, message) {
  try {
    await promise;
  } catch (e) {
    check(e && e.code === code, `expected ${code}, got ${e && (e.code || e.message)}`);
    if (message !== undefined) check(e.message === message, `expected the message ${message}, got ${e.message}`);
    return;
  }
  throw new Error(`expected ${code}, the call succeeded`);
}

// The entries of a zip archive: { name: Buffer } (stored or deflated).
function unzip(buf) {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  check(eocd >= 0, "no end of central directory");
  const entries = {};
  let at = buf.readUInt32LE(eocd + 16);
  const count = buf.readUInt16LE(eocd + 10);
  for (let k = 0; k < count; k++) {
    check(buf.readUInt32LE(at) === 0x02014b50, "bad central directory entry");
    const method = buf.readUInt16LE(at + 10);
    const size = buf.readUInt32LE(at + 20);
    const nameLen = buf.readUInt16LE(at + 28), extraLen = buf.readUInt16LE(at + 30), commentLen = buf.readUInt16LE(at + 32);
    const local = buf.readUInt32LE(at + 42);
    const name = buf.toString("utf8", at + 46, at + 46 + nameLen);
    check(buf.readUInt32LE(local) === 0x04034b50, "bad local header");
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + size);
    check(method === 0 || method === 8, "unknown zip method " + method);
    entries[name] = method === 8 ? zlib.inflateRawSync(data) : Buffer.from(data);
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

async function main() {
  const c = client();
  let certId;

  await test("DescribeCertificates with TC3 POST", async () => {
    const r = await c.request("DescribeCertificates", { Limit: 10 });
    check(typeof r.TotalCount === "number" && Array.isArray(r.Certificates), "no TotalCount / Certificates");
    check(typeof r.RequestId === "string", "no RequestId");
  });

  await test("UploadCertificate", async () => {
    const r = await c.request("UploadCertificate", {
      CertificatePublicKey: certPem, CertificatePrivateKey: keyPem, Alias: "node-sdk",
    });
    certId = r.CertificateId;
    check(typeof certId === "string" && certId !== "", "no CertificateId");
  });

  await test("DescribeCertificateDetail", async () => {
    const r = await c.request("DescribeCertificateDetail", { CertificateId: certId });
    check(r.CertificateId === certId, "other CertificateId " + r.CertificateId);
    check(r.Alias === "node-sdk", "Alias " + r.Alias);
    check(r.CertificatePublicKey && r.CertificatePublicKey.includes("BEGIN CERTIFICATE"), "no public key");
  });

  await test("DownloadCertificate (the zip holds the uploaded PEM)", async () => {
    const r = await c.request("DownloadCertificate", { CertificateId: certId });
    check(typeof r.Content === "string" && r.Content !== "", "no Content");
    const entries = unzip(Buffer.from(r.Content, "base64"));
    const pems = Object.values(entries).map((b) => b.toString("utf8")).filter((t) => t.includes("BEGIN CERTIFICATE"));
    check(pems.length > 0, "no certificate PEM in " + Object.keys(entries).join(", "));
    const body = (t) => t.replace(/-----[^-]+-----|\s/g, "");
    const want = body(certPem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/)[0]);
    check(pems.some((t) => body(t).includes(want)), "the PEM in the zip is not the uploaded certificate");
  });

  await test("ModifyCertificateAlias", async () => {
    await c.request("ModifyCertificateAlias", { CertificateId: certId, Alias: "renamed" });
    const r = await c.request("DescribeCertificateDetail", { CertificateId: certId });
    check(r.Alias === "renamed", "Alias " + r.Alias);
  });

  await test("GET TC3", async () => {
    const r = await client({ method: "GET" }).request("DescribeCertificates", { Limit: 5, SearchKey: "renamed" });
    check(typeof r.TotalCount === "number" && Array.isArray(r.Certificates), "no TotalCount / Certificates");
  });

  for (const signMethod of ["HmacSHA256", "HmacSHA1"]) {
    await test(`${signMethod} (signature v1)`, async () => {
      const r = await client({ signMethod }).request("DescribeCertificates", { Limit: 5 });
      check(typeof r.TotalCount === "number", "no TotalCount");
    });
  }

  await test("temporary credentials with a token (TC3 and v1)", async () => {
    let r = await client({ id: tempId, key: tempKey, token }).request("DescribeCertificates", { Limit: 1 });
    check(typeof r.TotalCount === "number", "no TotalCount");
    r = await client({ id: tempId, key: tempKey, token, signMethod: "HmacSHA256" }).request("DescribeCertificates", { Limit: 1 });
    check(typeof r.TotalCount === "number", "no TotalCount (v1)");
    await refused(client({ id: tempId, key: tempKey }).request("DescribeCertificates", {}), "AuthFailure.TokenFailure");
  });

  await test("a wrong key gives AuthFailure.SignatureFailure", async () => {
    await refused(client({ key: "not-the-secret-key" }).request("DescribeCertificates", {}), "AuthFailure.SignatureFailure");
    await refused(client({ key: "not-the-secret-key", signMethod: "HmacSHA1" }).request("DescribeCertificates", {}),
      "AuthFailure.SignatureFailure");
  });

  await test("profile.language picks the language of the error messages (TC3 and v1)", async () => {
    // the documents' texts for the code: the error example's (English) and the table's (Chinese)
    const en = "The provided credentials could not be validated. Please check your signature is correct.";
    const zh = "签名错误。签名计算错误，请对照调用方式中的签名方法文档检查签名计算过程。";
    for (const signMethod of ["TC3-HMAC-SHA256", "HmacSHA256"]) {
      const wrong = { key: "not-the-secret-key", signMethod };
      await refused(client({ ...wrong, language: "zh-CN" }).request("DescribeCertificates", {}),
        "AuthFailure.SignatureFailure", zh);
      await refused(client({ ...wrong, language: "en-US" }).request("DescribeCertificates", {}),
        "AuthFailure.SignatureFailure", en);
      await refused(client(wrong).request("DescribeCertificates", {}), "AuthFailure.SignatureFailure", en);
    }
    await refused(client({ language: "zh-CN" }).request("DescribeCertificateDetail", { CertificateId: "nosuchid" }),
      "FailedOperation.CertificateNotFound", "证书不存在。");
  });

  await test("an unknown SecretId gives AuthFailure.SecretIdNotFound", async () => {
    await refused(client({ id: "AKIDNOSUCHKEYNOSUCHKEY" }).request("DescribeCertificates", {}), "AuthFailure.SecretIdNotFound");
  });

  await test("DeleteCertificate", async () => {
    const r = await c.request("DeleteCertificate", { CertificateId: certId });
    check(r.DeleteResult === true, "DeleteResult " + r.DeleteResult);
    await refused(c.request("DescribeCertificateDetail", { CertificateId: certId }), "FailedOperation.CertificateNotFound");
  });

  let applied;
  await test("ApplyCertificate", async () => {
    const r = await c.request("ApplyCertificate", { DvAuthMethod: "DNS", DomainName: "node.example.com" });
    applied = r.CertificateId;
    check(typeof applied === "string" && applied !== "", "no CertificateId");
  });

  await test("DescribeCertificate", async () => {
    const r = await c.request("DescribeCertificate", { CertificateId: applied });
    check(r.CertificateId === applied, "other CertificateId " + r.CertificateId);
    check(r.Domain === "node.example.com", "Domain " + r.Domain);
  });

  // A record finishes at its task_polls-th detail poll (2 by default): poll a bounded number of times.
  async function finished(action, recordId) {
    let r;
    for (let i = 0; i < 10; i++) {
      r = await c.request(action, { DeployRecordId: String(recordId) });
      if (r.RunningTotalCount === 0) return r;
    }
    throw new Error(`${action} ${recordId} still running after 10 polls`);
  }

  let oldId, newId, deployId, updateId;
  await test("DeployCertificateInstance and DescribeHostDeployRecordDetail", async () => {
    oldId = (await c.request("UploadCertificate", { CertificatePublicKey: certPem, CertificatePrivateKey: keyPem })).CertificateId;
    newId = (await c.request("UploadCertificate", { CertificatePublicKey: cert2Pem, CertificatePrivateKey: key2Pem })).CertificateId;
    check(oldId && newId && oldId !== newId, "two uploads, two ids");
    const r = await c.request("DeployCertificateInstance", {
      CertificateId: oldId, ResourceType: "cdn", InstanceIdList: ["node.conformance.example"],
    });
    deployId = r.DeployRecordId;
    check(typeof deployId === "number" && deployId > 0, "DeployRecordId " + deployId);
    const d = await finished("DescribeHostDeployRecordDetail", deployId);
    check(d.TotalCount === 1 && d.SuccessTotalCount === 1, `counts ${d.TotalCount}/${d.SuccessTotalCount}`);
    check(d.DeployRecordDetailList[0].CertId === oldId, "CertId " + d.DeployRecordDetailList[0].CertId);
  });

  await test("UpdateCertificateInstance (asked again while DeployRecordId is 0)", async () => {
    let r;
    for (let i = 0; i < 10; i++) {
      r = await c.request("UpdateCertificateInstance", { OldCertificateId: oldId, CertificateId: newId, ResourceTypes: ["cdn"] });
      if (r.DeployRecordId !== 0) break;
    }
    updateId = r.DeployRecordId;
    check(typeof updateId === "number" && updateId > 0, "DeployRecordId " + updateId);
  });

  await test("DescribeHostUpdateRecordDetail", async () => {
    const d = await finished("DescribeHostUpdateRecordDetail", updateId);
    check(d.TotalCount === 1 && d.SuccessTotalCount === 1, `counts ${d.TotalCount}/${d.SuccessTotalCount}`);
    check(Array.isArray(d.RecordDetailList) && d.RecordDetailList.length === 1, "RecordDetailList");
  });

  agent.destroy();
  console.log(`1..${n}`);
  process.exitCode = failed === 0 ? 0 : 1;
}

main().catch((e) => {
  console.log(`not ok ${n + 1} - the suite stopped: ${e && e.message ? e.message : e}`);
  console.log(`1..${n + 1}`);
  process.exitCode = 1;
});
