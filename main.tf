data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

################################################################################
# Lambda package
################################################################################

# One zip for both functions, built from an explicit file list so nothing but the
# package's *.py (and, for long lists, the table-name file) ships.
data "archive_file" "lambda" {
  type        = "zip"
  output_path = "${path.root}/.terraform/dynamodb-backup-builds/${var.name}-lambda.zip"

  dynamic "source" {
    for_each = local.lambda_zip_sources
    content {
      filename = source.key
      content  = source.value
    }
  }
}

################################################################################
# The functions: one block per kind over local.functions (scheduler, monitor and, with
# restore_drill.enabled, drill), each with its log group, role and inline policy
################################################################################

locals {
  functions = merge(
    {
      scheduler = {
        description = "Starts one on-demand backup per selected DynamoDB table and queues the ARNs for the monitor."
        handler     = "dynamodb_backup.scheduler.handler"
        timeout     = var.scheduler_timeout
        memory_size = var.scheduler_memory_size
        # 1 by default: two runs never overlap.
        reserved_concurrent_executions = var.scheduler_reserved_concurrent_executions
        policy_json                    = module.iam_policies.scheduler_policy_json
        # Failed asynchronous invocations (after the retries of
        # aws_lambda_function_event_invoke_config) land here and are alarmed.
        asynchronous    = true
        dead_letter_arn = aws_sqs_queue.scheduler_dlq.arn
        # Names from the contract. An SQS queue's id is its URL.
        environment = merge(
          {
            TABLE_TAGS         = jsonencode(var.table_tags)
            BACKUP_NAME_PREFIX = local.backup_name_prefix
            MONITOR_QUEUE_URL  = aws_sqs_queue.monitor.id
            ALERT_TOPIC_ARN    = local.sns_topic_arn
            LOG_LEVEL          = var.log_level
            METRICS_NAMESPACE  = var.metrics_namespace
            # Coverage (behaviour 11): tables that need no backup, and whether to alert the rest.
            UNPROTECTED_TABLES_EXCLUDE = jsonencode(var.unprotected_tables_exclude)
            ALERT_UNPROTECTED_TABLES   = tostring(var.alert_unprotected_tables)
          },
          local.table_selection_environment,
        )
      }
      monitor = {
        description = "Watches queued DynamoDB backups until AVAILABLE, alerts failures and deletes expired backups."
        handler     = "dynamodb_backup.monitor.handler"
        timeout     = var.monitor_timeout
        memory_size = var.monitor_memory_size
        # Bounded by the event source mapping's maximum_concurrency instead (queue.tf).
        reserved_concurrent_executions = null
        policy_json                    = module.iam_policies.monitor_policy_json
        # Invoked synchronously by the event source mapping: the queue has the DLQ.
        asynchronous    = false
        dead_letter_arn = null
        environment = merge(
          {
            BACKUP_NAME_PREFIX  = local.backup_name_prefix
            MONITOR_QUEUE_URL   = aws_sqs_queue.monitor.id
            ALERT_TOPIC_ARN     = local.sns_topic_arn
            RETENTION_DAYS      = tostring(var.retention_days)
            MIN_BACKUPS_TO_KEEP = tostring(var.min_backups_to_keep)
            KEEP_DAILY          = tostring(var.keep_daily)
            KEEP_WEEKLY         = tostring(var.keep_weekly)
            KEEP_MONTHLY        = tostring(var.keep_monthly)
            KEEP_YEARLY         = tostring(var.keep_yearly)
            MAX_WAIT_MINUTES    = tostring(var.max_wait_minutes)
            LOG_LEVEL           = var.log_level
            METRICS_NAMESPACE   = var.metrics_namespace
          },
          local.retention_overrides_in_file ? { RETENTION_OVERRIDES_FILE = local.retention_overrides_file } : { RETENTION_OVERRIDES = local.retention_overrides_json },
          # The monitor waits for the drill's restores (drill.tf) and times them out.
          local.drill_enabled ? { DRILL_MAX_WAIT_MINUTES = tostring(var.restore_drill.max_wait_minutes) } : {},
        )
      }
    },
    local.drill_enabled ? { drill = local.drill_function } : {},
  )

  # for_each of every per-function block is local.function_names (locals.tf): known at
  # plan, and free of the references above (the policies need the log groups' ARNs).

  # TABLE_NAMES while the list fits Lambda's 4 KB environment, else the file in the zip.
  table_selection_environment = local.table_names_in_file ? { TABLE_NAMES_FILE = local.table_names_file } : { TABLE_NAMES = local.table_names_json }

  function_policies = { for k, f in local.functions : k => f.policy_json }
}

################################################################################
# Log groups (created before the functions, so Lambda never creates them itself)
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:Encrypted by CloudWatch Logs by default; the customer-managed key is used whenever kms_key_arn is given (kms_key_id below).
  for_each = local.function_names

  name              = "/aws/lambda/${each.value}"
  retention_in_days = var.cloudwatch_logs_retention_in_days
  kms_key_id        = var.kms_key_arn

  tags = merge(var.tags, var.cloudwatch_log_group_tags)
}

################################################################################
# IAM: one role per function, inline least-privilege policy from modules/iam-policies
################################################################################

module "iam_policies" {
  source = "./modules/iam-policies"

  partition                         = local.partition
  region                            = local.region
  account_id                        = local.account_id
  table_names                       = var.table_names
  table_tags                        = var.table_tags
  dynamodb_abac_enabled             = var.dynamodb_abac_enabled
  queue_arn                         = aws_sqs_queue.monitor.arn
  topic_arn                         = local.sns_topic_arn
  kms_key_arns                      = local.kms_key_arns
  scheduler_log_group_arn           = aws_cloudwatch_log_group.this["scheduler"].arn
  monitor_log_group_arn             = aws_cloudwatch_log_group.this["monitor"].arn
  scheduler_failure_destination_arn = aws_sqs_queue.scheduler_dlq.arn

  # The restore drill (drill.tf): its role's policy (drill_policy_json) and the monitor's
  # statements on the drill tables <prefix>-drill-*.
  backup_name_prefix            = local.backup_name_prefix
  drill_enabled                 = local.drill_enabled
  drill_table_kms_key_arns      = var.restore_drill.table_kms_key_arns
  drill_log_group_arn           = one([for k, g in aws_cloudwatch_log_group.this : g.arn if k == "drill"])
  drill_failure_destination_arn = one(aws_sqs_queue.drill_dlq[*].arn)
}

resource "aws_iam_role" "this" {
  for_each = local.function_names

  name                 = local.role_names[each.key]
  description          = "Runs the DynamoDB backup ${each.key} ${each.value}."
  assume_role_policy   = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "lambda.amazonaws.com" } }] })
  permissions_boundary = var.role_permissions_boundary

  tags = merge(var.tags, var.iam_role_tags)
}

resource "aws_iam_role_policy" "this" {
  for_each = local.function_names

  name   = each.value
  role   = aws_iam_role.this[each.key].id
  policy = local.function_policies[each.key]
}

################################################################################
# Functions
################################################################################

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:Calls only AWS APIs and reaches no private resource; a VPC would add NAT or endpoints and no protection.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (queue URL, topic ARN, table names, retention settings); Lambda encrypts it at rest with its service key, and with kms_key_arn when given.
  #checkov:skip=CKV_AWS_272:The code is zipped from this module's own source at plan time; code signing needs a signer profile and signed S3 artifacts, outside this module.
  #checkov:skip=CKV_AWS_116:The monitor is invoked synchronously by the SQS event source mapping, where a function DLQ never applies; its failed messages go to the queue's redrive dead-letter queue (alarmed). The scheduler and the drill have one.
  #checkov:skip=CKV_AWS_115:The monitor's concurrency is bounded by the event source mapping's maximum_concurrency, which AWS recommends for SQS over reserved concurrency (that throttles messages toward the DLQ). The scheduler and the drill reserve theirs.
  for_each = local.function_names

  function_name = each.value
  description   = local.functions[each.key].description
  role          = aws_iam_role.this[each.key].arn
  handler       = local.functions[each.key].handler
  runtime       = var.runtime
  architectures = [var.architecture]
  timeout       = local.functions[each.key].timeout
  memory_size   = local.functions[each.key].memory_size
  kms_key_arn   = var.kms_key_arn

  reserved_concurrent_executions = local.functions[each.key].reserved_concurrent_executions

  filename         = data.archive_file.lambda.output_path
  source_code_hash = data.archive_file.lambda.output_base64sha256

  environment {
    variables = local.functions[each.key].environment
  }

  tracing_config {
    mode = "PassThrough"
  }

  # With JSON logs Lambda drops records below application_log_level before they reach
  # the log group, so it follows log_level (else DEBUG would show nothing more than INFO).
  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.this[each.key].name
    application_log_level = local.lambda_application_log_levels[var.log_level]
    system_log_level      = local.lambda_system_log_level
  }

  tags = merge(var.tags, var.lambda_function_tags)

  lifecycle {
    # Module-wide inputs, checked on the scheduler (every deployment has one).
    precondition {
      condition     = each.key != "scheduler" || length(var.table_names) > 0 || length(var.table_tags) > 0
      error_message = "Select at least one table: set table_names, table_tags or both."
    }
    precondition {
      condition     = each.key != "scheduler" || var.create_sns_topic || var.sns_topic_arn != null
      error_message = "Set sns_topic_arn when create_sns_topic = false."
    }
    precondition {
      condition     = each.key != "monitor" || length(var.table_tags) > 0 || length(setsubtract(keys(var.retention_overrides), var.table_names)) == 0
      error_message = "retention_overrides names tables that table_names does not list: ${join(", ", sort(setsubtract(keys(var.retention_overrides), var.table_names)))}. Add them to table_names, remove their overrides, or select by table_tags."
    }
    precondition {
      condition     = each.key != "drill" || length(var.table_tags) > 0 || length(setsubtract(var.restore_drill.tables, var.table_names)) == 0
      error_message = "restore_drill.tables names tables that table_names does not list: ${join(", ", sort(setsubtract(var.restore_drill.tables, var.table_names)))}. Drill only selected tables: add them to table_names, remove them from restore_drill.tables (tables = [] rotates through the selection), or select by table_tags."
    }
  }

  # A function starts only once its role may write its log group and do its work.
  depends_on = [aws_iam_role_policy.this]

  # The scheduler's (and the drill's) failed asynchronous invocations, after the retries
  # of aws_lambda_function_event_invoke_config, land in their dead-letter queue (alarmed).
  # Last in the block: tfparse (the offline checks) drops a block that follows a dynamic one.
  dynamic "dead_letter_config" {
    for_each = local.functions[each.key].asynchronous ? [local.functions[each.key].dead_letter_arn] : []
    content {
      target_arn = dead_letter_config.value
    }
  }
}

# Every deployment from before the function map keeps its functions, roles, policies and
# log groups (tests/terraform/test_module_moved.py).
moved {
  from = aws_cloudwatch_log_group.scheduler
  to   = aws_cloudwatch_log_group.this["scheduler"]
}

moved {
  from = aws_cloudwatch_log_group.monitor
  to   = aws_cloudwatch_log_group.this["monitor"]
}

moved {
  from = aws_iam_role.scheduler
  to   = aws_iam_role.this["scheduler"]
}

moved {
  from = aws_iam_role.monitor
  to   = aws_iam_role.this["monitor"]
}

moved {
  from = aws_iam_role_policy.scheduler
  to   = aws_iam_role_policy.this["scheduler"]
}

moved {
  from = aws_iam_role_policy.monitor
  to   = aws_iam_role_policy.this["monitor"]
}

moved {
  from = aws_lambda_function.scheduler
  to   = aws_lambda_function.this["scheduler"]
}

moved {
  from = aws_lambda_function.monitor
  to   = aws_lambda_function.this["monitor"]
}

resource "aws_lambda_function_event_invoke_config" "scheduler" {
  function_name                = aws_lambda_function.this["scheduler"].function_name
  maximum_retry_attempts       = var.scheduler_maximum_retry_attempts
  maximum_event_age_in_seconds = 21600
}

################################################################################
# Schedule
################################################################################

resource "aws_cloudwatch_event_rule" "schedule" {
  count = local.schedule_with_scheduler ? 0 : 1

  name                = local.schedule_rule_name
  description         = "Starts the DynamoDB backup scheduler ${local.scheduler_function_name}."
  schedule_expression = var.schedule_expression
  state               = var.schedule_enabled ? "ENABLED" : "DISABLED"

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "scheduler" {
  count = local.schedule_with_scheduler ? 0 : 1

  rule      = aws_cloudwatch_event_rule.schedule[0].name
  target_id = "scheduler"
  arn       = aws_lambda_function.this["scheduler"].arn

  # Events EventBridge could not deliver (after its own retries) are kept, not dropped.
  dead_letter_config {
    arn = aws_sqs_queue.scheduler_dlq.arn
  }

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }
}

resource "aws_lambda_permission" "schedule" {
  count = local.schedule_with_scheduler ? 0 : 1

  statement_id  = "AllowInvokeFromScheduleRule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["scheduler"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule[0].arn
}

# The rule, its target and permission got a count (schedule_timezone); deployments from
# before keep them.
moved {
  from = aws_cloudwatch_event_rule.schedule
  to   = aws_cloudwatch_event_rule.schedule[0]
}

moved {
  from = aws_cloudwatch_event_target.scheduler
  to   = aws_cloudwatch_event_target.scheduler[0]
}

moved {
  from = aws_lambda_permission.schedule
  to   = aws_lambda_permission.schedule[0]
}

################################################################################
# First backup at apply: arms the dead-man alarm (alarms.tf) minutes after a deploy
################################################################################

# The time of the first apply, kept: later applies leave it (and so the invocation) alone.
resource "terraform_data" "first_backup_slot" {
  count = var.first_backup_at_apply ? 1 : 0

  input = timestamp()

  lifecycle {
    ignore_changes = [input]
  }
}

# One scheduler run at create, with a scheduled event whose time (the slot) is the first
# apply's: it backs up the selection as a scheduled run would (named
# <prefix>-<table>-<slot>, own backups that retention deletes in turn), and its success
# turns the dead-man alarm OK. Idempotent per slot like every run.
resource "aws_lambda_invocation" "first_backup" {
  count = var.first_backup_at_apply ? 1 : 0

  function_name = aws_lambda_function.this["scheduler"].function_name
  input = jsonencode({
    version       = "0"
    id            = "first-backup-at-apply"
    "detail-type" = "Scheduled Event"
    source        = "aws.events"
    account       = local.account_id
    time          = terraform_data.first_backup_slot[0].output
    region        = local.region
    resources     = [local.schedule_trigger_arn]
    detail        = {}
  })

  # The run hands its backups to the monitor; both must be able to work.
  depends_on = [
    aws_lambda_event_source_mapping.monitor,
    aws_iam_role_policy.this,
  ]
}
