# Pure module: no providers, data sources or resources. It turns the selection and the
# wiring into the two functions' inline policy documents, so a test can evaluate it with
# concrete inputs and check every API call the handlers make against it.

locals {
  arn_prefix = "arn:${var.partition}:dynamodb:${var.region}:${var.account_id}"

  # Exact ARNs while they fit the budget; otherwise name-prefix patterns. k = 255 is exact
  # (table names are at most 255 characters); k = 1 always fits (at most 64 distinct first
  # characters), so the list never widens to table/*.
  prefix_lengths = [255, 128, 64, 48, 32, 24, 16, 12, 10, 8, 6, 5, 4, 3, 2, 1]

  table_name_patterns = [
    for k in local.prefix_lengths : distinct([
      for n in var.table_names : length(n) <= k ? n : "${substr(n, 0, k)}*"
    ])
  ]

  table_arn_candidates = [
    for patterns in local.table_name_patterns : [for p in patterns : "${local.arn_prefix}:table/${p}"]
  ]
  backup_arn_candidates = [
    for patterns in local.table_name_patterns : [
      for p in patterns : "${local.arn_prefix}:table/${p}/backup/*"
    ]
  ]

  table_arns = length(var.table_names) == 0 ? [] : [
    for c in local.table_arn_candidates : c if length(jsonencode(c)) <= var.table_arns_max_chars
  ][0]
  backup_arns = length(var.table_names) == 0 ? [] : [
    for c in local.backup_arn_candidates : c if length(jsonencode(c)) <= var.table_arns_max_chars
  ][0]

  by_names = length(var.table_names) > 0
  by_tags  = length(var.table_tags) > 0

  tag_condition = {
    StringEquals = { for k, v in var.table_tags : "aws:ResourceTag/${k}" => v }
  }

  kms_statements = length(var.kms_key_arns) == 0 ? [] : [jsonencode({
    Sid      = "UseEncryptionKeys"
    Effect   = "Allow"
    Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
    Resource = var.kms_key_arns
  })]

  scheduler_statements = concat(
    local.by_names ? [jsonencode({
      Sid      = "CreateBackupOfSelectedTables"
      Effect   = "Allow"
      Action   = ["dynamodb:CreateBackup"]
      Resource = local.table_arns
    })] : [],
    local.by_tags ? [jsonencode({
      Sid       = "CreateBackupOfTaggedTables"
      Effect    = "Allow"
      Action    = ["dynamodb:CreateBackup"]
      Resource  = ["${local.arn_prefix}:table/*"]
      Condition = local.tag_condition
    })] : [],
    local.by_tags ? [jsonencode({
      # tag:GetResources supports no resource-level permissions.
      Sid      = "FindTaggedTables"
      Effect   = "Allow"
      Action   = ["tag:GetResources"]
      Resource = ["*"]
    })] : [],
    [jsonencode({
      # ListBackups supports no resource-level permissions; the scheduler lists the
      # slot's existing backups so that a repeated invocation creates no second one.
      Sid      = "ListBackups"
      Effect   = "Allow"
      Action   = ["dynamodb:ListBackups"]
      Resource = ["*"]
    })],
    [jsonencode({
      Sid      = "SendToMonitoringQueue"
      Effect   = "Allow"
      Action   = ["sqs:SendMessage"]
      Resource = [var.queue_arn]
    })],
    [jsonencode({
      Sid      = "PublishAlerts"
      Effect   = "Allow"
      Action   = ["sns:Publish"]
      Resource = [var.topic_arn]
    })],
    [jsonencode({
      Sid      = "WriteOwnLogs"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = ["${var.scheduler_log_group_arn}:*"]
    })],
    var.scheduler_failure_destination_arn == null ? [] : [jsonencode({
      Sid      = "SendFailedInvocations"
      Effect   = "Allow"
      Action   = ["sqs:SendMessage"]
      Resource = [var.scheduler_failure_destination_arn]
    })],
    local.kms_statements,
  )

  monitor_statements = concat(
    local.by_names ? [jsonencode({
      Sid      = "CheckAndDeleteBackupsOfSelectedTables"
      Effect   = "Allow"
      Action   = ["dynamodb:DescribeBackup", "dynamodb:DeleteBackup"]
      Resource = local.backup_arns
    })] : [],
    local.by_tags ? [jsonencode({
      # Backups carry no tags (aws:ResourceTag cannot narrow them) and the set of tagged
      # tables changes between runs, so tag selection needs every table's backups. The
      # monitor only deletes backups named <prefix>-... of type USER (contract 6).
      Sid      = "CheckAndDeleteBackupsOfTaggedTables"
      Effect   = "Allow"
      Action   = ["dynamodb:DescribeBackup", "dynamodb:DeleteBackup"]
      Resource = ["${local.arn_prefix}:table/*/backup/*"]
    })] : [],
    [jsonencode({
      Sid      = "ListBackups"
      Effect   = "Allow"
      Action   = ["dynamodb:ListBackups"]
      Resource = ["*"]
    })],
    [jsonencode({
      # Receive/Delete/GetQueueAttributes for the event source mapping; SendMessage
      # because the monitor re-enqueues backups that are still CREATING.
      Sid      = "UseMonitoringQueue"
      Effect   = "Allow"
      Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:SendMessage"]
      Resource = [var.queue_arn]
    })],
    [jsonencode({
      Sid      = "PublishAlerts"
      Effect   = "Allow"
      Action   = ["sns:Publish"]
      Resource = [var.topic_arn]
    })],
    [jsonencode({
      Sid      = "WriteOwnLogs"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = ["${var.monitor_log_group_arn}:*"]
    })],
    local.kms_statements,
  )
}
