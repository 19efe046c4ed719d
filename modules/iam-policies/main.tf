# Pure module: no providers, data sources or resources. It turns the selection and the
# wiring into the two functions' inline policy documents, so a test can evaluate it with
# concrete inputs and check every API call the handlers make against it.

locals {
  arn_prefix = "arn:${var.partition}:dynamodb:${var.region}:${var.account_id}"

  # Exact ARNs while they fit the budget; otherwise name-prefix patterns
  # ("table/<first k characters>*") with the largest k that fits. With k = 1 there are at
  # most 65 patterns (one per possible first character), which fits the default budget in
  # every partition; "*" is only a last resort for a budget set too small.
  # Grouping with a for expression (rather than distinct) keeps evaluation linear.
  prefix_lengths = [64, 32, 24, 16, 12, 8, 6, 5, 4, 3, 2, 1]

  name_pattern_candidates = concat(
    [var.table_names],
    [
      for k in local.prefix_lengths : keys({
        for n in var.table_names : (length(n) <= k ? n : "${substr(n, 0, k)}*") => n...
      })
    ],
  )

  # Characters one entry adds to the JSON list of backup ARNs (the longer statement):
  # quotes, comma, ARN prefix and "/backup/*" around the pattern itself.
  backup_arn_overhead = length("\"${local.arn_prefix}:table//backup/*\",")
  candidate_sizes = [
    for c in local.name_pattern_candidates :
    1 + length(c) * local.backup_arn_overhead + sum(concat([0], [for p in c : length(p)]))
  ]

  table_name_patterns = length(var.table_names) == 0 ? [] : concat(
    [for i, c in local.name_pattern_candidates : c if local.candidate_sizes[i] <= var.table_arns_max_chars],
    [["*"]],
  )[0]

  table_arns  = [for p in local.table_name_patterns : "${local.arn_prefix}:table/${p}"]
  backup_arns = [for p in local.table_name_patterns : "${local.arn_prefix}:table/${p}/backup/*"]

  by_names = length(var.table_names) > 0
  by_tags  = length(var.table_tags) > 0

  tag_condition = {
    StringEquals = { for k, v in var.table_tags : "aws:ResourceTag/${k}" => v }
  }

  # The restore drill's tables: `<prefix>-drill-<table>-<slot>` (dynamodb_backup.naming).
  # Only built when the drill is enabled; backup_name_prefix is required then.
  drill_table_arn = var.drill_enabled ? "${local.arn_prefix}:table/${var.backup_name_prefix}-drill-*" : ""

  # The backups the drill may read and restore: those of the selection, as the monitor's.
  drill_backup_arns = distinct(concat(
    local.by_names ? local.backup_arns : [],
    local.by_tags ? ["${local.arn_prefix}:table/*/backup/*"] : [],
  ))

  kms_statements = length(var.kms_key_arns) == 0 ? [] : [jsonencode({
    Sid      = "UseEncryptionKeys"
    Effect   = "Allow"
    Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
    Resource = var.kms_key_arns
  })]

  # Statements several roles have, the same in each policy. ListBackups, ListTables and
  # tag:GetResources support no resource-level permissions. The scheduler lists the slot's
  # existing backups (a repeated invocation creates no second one) and the region's tables
  # (TablesUnprotected, behaviour 11); the monitor lists what retention needs; the drill
  # finds the newest own backup of a table and the drill tables a crashed drill left over
  # (naming.drill_slot_of).
  list_backups_statement = jsonencode({
    Sid      = "ListBackups"
    Effect   = "Allow"
    Action   = ["dynamodb:ListBackups"]
    Resource = ["*"]
  })
  list_tables_statement = jsonencode({
    Sid      = "ListTables"
    Effect   = "Allow"
    Action   = ["dynamodb:ListTables"]
    Resource = ["*"]
  })
  find_tagged_tables_statements = local.by_tags ? [jsonencode({
    Sid      = "FindTaggedTables"
    Effect   = "Allow"
    Action   = ["tag:GetResources"]
    Resource = ["*"]
  })] : []
  send_to_queue_statement = jsonencode({
    Sid      = "SendToMonitoringQueue"
    Effect   = "Allow"
    Action   = ["sqs:SendMessage"]
    Resource = [var.queue_arn]
  })
  publish_alerts_statement = jsonencode({
    Sid      = "PublishAlerts"
    Effect   = "Allow"
    Action   = ["sns:Publish"]
    Resource = [var.topic_arn]
  })

  scheduler_statements = concat(
    local.by_names ? [jsonencode({
      Sid      = "CreateBackupOfSelectedTables"
      Effect   = "Allow"
      Action   = ["dynamodb:CreateBackup"]
      Resource = local.table_arns
    })] : [],
    # With ABAC for DynamoDB off in the account and region, aws:ResourceTag conditions see
    # no tags and deny every CreateBackup; then the grant covers the region's tables and
    # the selection by tags happens at run time only (dynamodb_abac_enabled = false).
    local.by_tags ? [jsonencode(merge(
      {
        Sid      = "CreateBackupOfTaggedTables"
        Effect   = "Allow"
        Action   = ["dynamodb:CreateBackup"]
        Resource = ["${local.arn_prefix}:table/*"]
      },
      var.dynamodb_abac_enabled ? { Condition = local.tag_condition } : {},
    ))] : [],
    local.find_tagged_tables_statements,
    [
      local.list_backups_statement,
      local.list_tables_statement,
      local.send_to_queue_statement,
      local.publish_alerts_statement,
    ],
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
    [local.list_backups_statement],
    [jsonencode({
      # Receive/Delete/GetQueueAttributes for the event source mapping; SendMessage
      # because the monitor re-enqueues backups that are still CREATING.
      Sid      = "UseMonitoringQueue"
      Effect   = "Allow"
      Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:SendMessage"]
      Resource = [var.queue_arn]
    })],
    [local.publish_alerts_statement],
    [jsonencode({
      Sid      = "WriteOwnLogs"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = ["${var.monitor_log_group_arn}:*"]
    })],
    local.kms_statements,
    local.monitor_drill_statements,
  )

  drill_statements = !var.drill_enabled ? [] : concat(
    [local.list_tables_statement, local.list_backups_statement],
    local.find_tagged_tables_statements,
    length(local.drill_backup_arns) == 0 ? [] : [jsonencode({
      # What the backup recorded (key schema, indexes, item count, size), and the restore,
      # which AWS authorises on the source backup ...
      Sid      = "ReadAndRestoreBackupsOfSelectedTables"
      Effect   = "Allow"
      Action   = ["dynamodb:DescribeBackup", "dynamodb:RestoreTableFromBackup"]
      Resource = local.drill_backup_arns
    })],
    [jsonencode({
      # ... and on the target table, together with the item reads and writes the restore
      # performs on it ("DynamoDB RestoreTableFromBackup permissions are necessary on the
      # source backup, and DynamoDB read and write permissions on the target table are
      # necessary": Using IAM with DynamoDB backup and restore). Only drill tables.
      Sid    = "RestoreIntoDrillTables"
      Effect = "Allow"
      Action = [
        "dynamodb:RestoreTableFromBackup",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "dynamodb:BatchWriteItem",
      ]
      Resource = [local.drill_table_arn]
    })],
    [jsonencode({
      # Left over drill tables, and a restore whose check could not be queued.
      Sid      = "DeleteDrillTables"
      Effect   = "Allow"
      Action   = ["dynamodb:DeleteTable"]
      Resource = [local.drill_table_arn]
    })],
    [local.send_to_queue_statement, local.publish_alerts_statement],
    var.drill_log_group_arn == null ? [] : [jsonencode({
      Sid      = "WriteOwnLogs"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = ["${var.drill_log_group_arn}:*"]
    })],
    var.drill_failure_destination_arn == null ? [] : [jsonencode({
      Sid      = "SendFailedInvocations"
      Effect   = "Allow"
      Action   = ["sqs:SendMessage"]
      Resource = [var.drill_failure_destination_arn]
    })],
    local.kms_statements,
    local.drill_kms_statements,
  )

  # The monitor's part of a drill (restore_check.py): wait, count, delete; drill tables only.
  monitor_drill_statements = !var.drill_enabled ? [] : concat(
    [jsonencode({
      Sid      = "CheckAndDeleteDrillTables"
      Effect   = "Allow"
      Action   = ["dynamodb:DescribeTable", "dynamodb:Scan", "dynamodb:DeleteTable"]
      Resource = [local.drill_table_arn]
    })],
    # Reading a restored table that a customer managed key encrypts: through DynamoDB only.
    length(var.drill_table_kms_key_arns) == 0 ? [] : [jsonencode({
      Sid       = "ReadDrillTablesWithTheirKeys"
      Effect    = "Allow"
      Action    = ["kms:DescribeKey", "kms:Decrypt"]
      Resource  = var.drill_table_kms_key_arns
      Condition = local.via_dynamodb
    })],
  )

  # Restoring a table under a customer managed key creates a table with that key: the
  # principal needs what the DynamoDB developer guide lists for creating one (describe the
  # key, create DynamoDB's grant, decrypt), and only through DynamoDB in this region.
  drill_kms_statements = length(var.drill_table_kms_key_arns) == 0 ? [] : [jsonencode({
    Sid       = "RestoreWithTheTablesKeys"
    Effect    = "Allow"
    Action    = ["kms:DescribeKey", "kms:CreateGrant", "kms:Decrypt"]
    Resource  = var.drill_table_kms_key_arns
    Condition = local.via_dynamodb
  })]
  via_dynamodb = {
    StringEquals = {
      "kms:ViaService"    = "dynamodb.${var.region}.amazonaws.com"
      "kms:CallerAccount" = var.account_id
    }
  }
}
