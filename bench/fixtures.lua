-- The fixed inputs every benchmark shares: the credentials, the request that is signed, and a
-- DescribeCertificates response with N certificates, shaped like the API's own responses
-- (every field of the model's Certificates struct, nulls for absent optional values, empty
-- arrays, nested objects, integers and booleans). Deterministic: the same N gives the same text.
local F = {}

F.SECRET_ID = "AKIDbenchbenchbenchbenchbenchbench01"
F.SECRET_KEY = "benchsecretkeybenchsecretkeybench1"
F.REGION = "ap-guangzhou"
F.TIMESTAMP = 1764000000 -- 2025-11-24, a fixed time so every signer signs the same input

-- What the signing benchmarks sign: a DescribeCertificates POST body as tcssl would send it.
F.SIGN = {
  host = "ssl.tencentcloudapi.com",
  service = "ssl",
  method = "POST",
  content_type = "application/json",
  payload = '{"Limit":10,"Offset":0,"SearchKey":"bench.example.com"}',
}

-- One certificate object as JSON text. i varies ids, names and dates so that no two are alike.
local function certificate(i)
  local day = 1 + i % 28
  local id = ("bnch%04d"):format(i % 10000)
  local wildcard = i % 3 == 0
  return table.concat{
    '{"OwnerUin":"100012345678","ProjectId":"0","From":"', i % 4 == 0 and "trustasia" or "upload",
    '","PackageType":', i % 4 == 0 and '"2"' or "null",
    ',"CertificateType":"SVR","ProductZhName":', i % 4 == 0 and '"TrustAsia TLS RSA CA"' or "null",
    ',"Domain":"', wildcard and "*." or "", "host", i, '.bench.example.com"',
    ',"Alias":"bench certificate ', i, '","Status":1',
    ',"CertificateExtra":{"DomainNumber":"1","OriginCertificateId":null,"ReplacedBy":null,',
    '"ReplacedFor":null,"RenewOrder":null,"SMCert":0,"CompanyType":0}',
    ',"VulnerabilityStatus":"INACTIVE","StatusMsg":null,"VerifyType":"DNS_AUTO"',
    ',"CertBeginTime":"2025-11-', ("%02d"):format(day), ' 08:00:00"',
    ',"CertEndTime":"2026-02-', ("%02d"):format(day), ' 07:59:59"',
    ',"ValidityPeriod":"3","InsertTime":"2025-11-', ("%02d"):format(day), ' 10:12:13"',
    ',"CertificateId":"', id, '"',
    ',"SubjectAltName":["host', i, '.bench.example.com","www.host', i, '.bench.example.com"]',
    ',"PackageTypeName":"TrustAsia TLS RSA CA","StatusName":"Issued","IsVip":false,"IsDv":true',
    ',"IsWildcard":', tostring(wildcard), ',"IsVulnerability":false,"RenewAble":', tostring(i % 2 == 0),
    ',"ProjectInfo":{"ProjectName":"Default Project","ProjectCreatorUin":100012345678,',
    '"ProjectCreateTime":"2020-01-01 00:00:00","ProjectResume":"default","OwnerUin":100012345678,',
    '"ProjectId":"0"}',
    ',"BoundResource":[],"Deployable":true',
    ',"Tags":[{"TagKey":"env","TagValue":"bench"},{"TagKey":"team","TagValue":"t', i % 7, '"}]',
    ',"IsIgnore":false,"IsSM":false,"EncryptAlgorithm":"RSA"',
    ',"CAEncryptAlgorithms":[],"CAEndTimes":[],"CACommonNames":[]',
    ',"PreAuditInfo":null,"AutoRenewFlag":0,"HostingStatus":-1,"HostingCompleteTime":null',
    ',"HostingRenewCertId":null,"HasRenewOrder":null,"ReplaceOriCertIsDelete":false',
    ',"IsExpiring":', tostring(i % 10 == 0),
    ',"DVAuthDeadline":null,"ValidationPassedTime":"2025-11-', ("%02d"):format(day), ' 08:30:00"',
    ',"CertSANs":["host', i, '.bench.example.com"],"AwaitingValidationMsg":null',
    ',"AllowDownload":true,"IsDNSPODResolve":false,"IsPackage":false,"KeyPasswordCustomFlag":false',
    ',"SupportDownloadType":{"NGINX":true,"APACHE":true,"TOMCAT":true,"IIS":true,"JKS":true,',
    '"OTHER":true,"ROOT":true}',
    ',"CertRevokedTime":null,"HostingResourceTypes":[],"HostingConfig":null',
    ',"IsHostingUploadRenewCert":false}',
  }
end

--- describe_certificates(n) -> the JSON text of a DescribeCertificates response with n
-- certificates (TotalCount says there are more, as a first page would).
function F.describe_certificates(n)
  local certs = {}
  for i = 1, n do certs[i] = certificate(i) end
  return table.concat{
    '{"Response":{"TotalCount":', n * 3, ',"Certificates":[', table.concat(certs, ","),
    '],"RequestId":"6a3f1c2e-8d4b-4f0a-9e7c-0123456789ab"}}',
  }
end

return F
