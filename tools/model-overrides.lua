--[=[ tools/model-overrides.lua: what tools/gen-facts.lua cannot read from the documents' text.

Loaded as data (no code runs). Line numbers are those of 004_6ca79b59cc431531.txt; the generator
checks every entry against the documents and stops when one no longer fits.

paging: added to the paging facts the generator reads (docs/model-notes.md, "Paging").
enums:  the status values the waiters and the emulator use. The generator reads each enum's
        values and their Chinese labels from its source field's description; this file gives
        each value the English name tcssl uses for it (with the label it names, checked), and
        lists the fields that carry the enum. A listed field whose description names no values
        says `unstated = LINE` (the line of its row, checked), and takes the source's values.
]=]
return {
  paging = {
    -- Line 13147: RecordDetailList is "Array of UpdateRecordDetails", one group per resource
    -- type (line 30881: ResourceType, List "Array of UpdateRecordDetail", TotalCount), while
    -- Limit and Offset (lines 13137-13145) page through resources and TotalCount (line 13149)
    -- counts resources: a walk moves on by the entries of each group's List.
    DescribeHostUpdateRecordDetail = { group_items = "List" },
  },

  enums = {
    -- A certificate's Status, line 9246 (DescribeCertificate): "0 = 审核中，1 = 已通过, …".
    CertificateStatus = {
      source = "actions.DescribeCertificate.output.Status",
      names = {
        [0] = { "审核中", "under review" },
        [1] = { "已通过", "issued" },
        [2] = { "审核失败", "review failed" },
        [3] = { "已过期", "expired" },
        [4] = { "自动添加DNS记录", "DNS record added automatically" },
        [5] = { "企业证书，待提交资料", "waiting for company information" },
        [6] = { "订单取消中", "cancelling" },
        [7] = { "已取消", "cancelled" },
        [8] = { "已提交资料， 待上传确认函", "waiting for the confirmation letter" },
        [9] = { "证书吊销中", "revoking" },
        [10] = { "已吊销", "revoked" },
        [11] = { "重颁发中", "reissuing" },
        [12] = { "待上传吊销确认函", "waiting for the revocation letter" },
        [13] = { "免费证书待提交资料", "waiting for information (free certificate)" },
        [14] = { "证书已退款", "refunded" },
        [15] = { "证书迁移中", "migrating" },
      },
      fields = {
        "actions.DescribeCertificate.output.Status",
        "actions.DescribeCertificateDetail.output.Status",
        "structs.Certificates.Status",
        "actions.DescribeCertificates.input.CertificateStatus",   -- an older wording, values 0-13
        "actions.CertificateOrderSubmit.output.Status",           -- the same
        "actions.CommitCertificateInformation.output.Status",     -- the same
      },
    },

    -- One resource of a deployment or update record, line 30748 (UpdateRecordDetail):
    -- "0：待部署 1：部署成功 2：部署失败 3：部署中 4：回滚成功 5：回滚失败 6：无资源，无需部署".
    ResourceStatus = {
      source = "structs.UpdateRecordDetail.Status",
      names = {
        [0] = { "待部署", "pending" },
        [1] = { "部署成功", "success" },
        [2] = { "部署失败", "failed" },
        [3] = { "部署中", "running" },
        [4] = { "回滚成功", "rolled back" },
        [5] = { "回滚失败", "rollback failed" },
        [6] = { "无资源，无需部署", "no resource" },
      },
      fields = {
        "structs.UpdateRecordDetail.Status",
        -- Line 28797: DeployRecordDetail's Status (DescribeHostDeployRecordDetail's resources) is
        -- only "部署状态"; it reports the same deployment of one resource as line 30748.
        { "structs.DeployRecordDetail.Status", unstated = 28797 },
        -- Line 30959: an update record's Status (DescribeHostUpdateRecord) is only "部署状态";
        -- the record takes the state of its resources, in the same values.
        { "structs.UpdateRecordInfo.Status", unstated = 30959 },
      },
    },

    -- A deployment record (DescribeHostDeployRecord's list), line 28894 (DeployRecordInfo):
    -- "部署状态:0 未开始， 1 成功， 2 失败".
    RecordStatus = {
      source = "structs.DeployRecordInfo.Status",
      names = {
        [0] = { "未开始", "not started" },
        [1] = { "成功", "success" },
        [2] = { "失败", "failed" },
      },
      fields = { "structs.DeployRecordInfo.Status" },
    },

    -- UpdateCertificateInstance's progress per resource type and region, lines 30994 and 31034:
    -- "异步更新进度状态：0， 待处理， 1 已处理， 3 处理中".
    SyncStatus = {
      source = "structs.UpdateSyncProgress.Status",
      names = {
        [0] = { "待处理", "waiting" },
        [1] = { "已处理", "done" },
        [3] = { "处理中", "running" },
      },
      fields = { "structs.UpdateSyncProgress.Status", "structs.UpdateSyncProgressRegion.Status" },
    },
  },
}
