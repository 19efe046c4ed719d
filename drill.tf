################################################################################
# Restore drill (restore_drill.enabled): a third function on its own schedule restores
# the newest own backup of a table, the monitor waits for it, verifies and deletes it
################################################################################

locals {
  drill_enabled = var.restore_drill.enabled

  # The schedule's period (a rate(...) by validation): the drill rotates through the
  # selection by floor(slot / period) and the alarm looks back two periods.
  # (try: a malformed expression is reported by the variable's validation instead.)
  drill_rate_match     = try(regex("^rate\\(([0-9]+) ([a-z]+)\\)$", var.restore_drill.schedule_expression), ["7", "days"])
  drill_period_seconds = try(tonumber(local.drill_rate_match[0]) * local.rate_unit_seconds[local.drill_rate_match[1]], 604800)

  # "No drill succeeded within two periods" on hourly data points. CloudWatch evaluates
  # at most 7 days (period x evaluation periods <= 604,800 s), so longer schedules get no
  # such alarm (documented on restore_drill).
  drill_success_window_seconds     = 2 * local.drill_period_seconds
  drill_success_alarm              = var.create_alarms && local.drill_enabled && local.drill_success_window_seconds <= 604800
  drill_success_evaluation_periods = ceil(local.drill_success_window_seconds / 3600)
  drill_max_backup_bytes           = floor(var.restore_drill.max_backup_size_gb * 1073741824)
  drill_schedule_rule_name         = "${var.name}-drill-schedule"
  drill_dead_letter_queue_name     = "${var.name}-drill-dlq"
  drill_function_name              = "${var.name}-drill"

  # The function's settings (main.tf, local.functions): the scheduler's timeout, memory,
  # reserved concurrency and retries. Names from the contract; the selection and the
  # common settings as the scheduler gets them.
  drill_function = {
    description                    = "Restores the newest own backup of a DynamoDB table into a drill table and queues it for the monitor to verify and delete."
    handler                        = "dynamodb_backup.drill.handler"
    timeout                        = var.scheduler_timeout
    memory_size                    = var.scheduler_memory_size
    reserved_concurrent_executions = var.scheduler_reserved_concurrent_executions
    policy_json                    = module.iam_policies.drill_policy_json
    asynchronous                   = true
    dead_letter_arn                = one(aws_sqs_queue.drill_dlq[*].arn)
    environment = merge(
      {
        DRILL_TABLES           = jsonencode(var.restore_drill.tables)
        DRILL_MAX_BACKUP_BYTES = tostring(local.drill_max_backup_bytes)
        DRILL_MAX_WAIT_MINUTES = tostring(var.restore_drill.max_wait_minutes)
        TABLE_TAGS             = jsonencode(var.table_tags)
        BACKUP_NAME_PREFIX     = local.backup_name_prefix
        MONITOR_QUEUE_URL      = aws_sqs_queue.monitor.id
        ALERT_TOPIC_ARN        = local.sns_topic_arn
        LOG_LEVEL              = var.log_level
        METRICS_NAMESPACE      = var.metrics_namespace
      },
      local.table_selection_environment,
    )
  }

  # The rule's event, reshaped into a Scheduled Event that also carries the period: the
  # handler reads `time` as the slot and rotates by detail.drill_period_seconds. Unquoted
  # placeholders take the JSON values (strings quoted, resources an array). Literal JSON,
  # not jsonencode: jsonencode writes "<" and ">" as \u003c and \u003e.
  drill_input_template = "{\"version\":\"0\",\"id\":<id>,\"detail-type\":\"Scheduled Event\",\"source\":\"aws.events\",\"account\":<account>,\"time\":<time>,\"region\":<region>,\"resources\":<resources>,\"detail\":{\"drill_period_seconds\":${local.drill_period_seconds},\"max_read_units_per_second\":${var.restore_drill.max_read_units_per_second}}}"
}

################################################################################
# Schedule
################################################################################

resource "aws_cloudwatch_event_rule" "drill" {
  count = local.drill_enabled ? 1 : 0

  name                = local.drill_schedule_rule_name
  description         = "Starts the DynamoDB restore drill ${local.drill_function_name}."
  schedule_expression = var.restore_drill.schedule_expression
  state               = "ENABLED"

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "drill" {
  count = local.drill_enabled ? 1 : 0

  rule      = aws_cloudwatch_event_rule.drill[0].name
  target_id = "drill"
  arn       = aws_lambda_function.this["drill"].arn

  input_transformer {
    input_paths = {
      id        = "$.id"
      account   = "$.account"
      time      = "$.time"
      region    = "$.region"
      resources = "$.resources"
    }
    input_template = local.drill_input_template
  }

  # Events EventBridge could not deliver (after its own retries) are kept, not dropped.
  dead_letter_config {
    arn = aws_sqs_queue.drill_dlq[0].arn
  }

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }
}

resource "aws_lambda_permission" "drill" {
  count = local.drill_enabled ? 1 : 0

  statement_id  = "AllowInvokeFromDrillScheduleRule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["drill"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.drill[0].arn
}

resource "aws_lambda_function_event_invoke_config" "drill" {
  count = local.drill_enabled ? 1 : 0

  function_name                = aws_lambda_function.this["drill"].function_name
  maximum_retry_attempts       = var.scheduler_maximum_retry_attempts
  maximum_event_age_in_seconds = 21600
}

################################################################################
# Dead-letter queue: failed async invocations and undeliverable events
################################################################################

resource "aws_sqs_queue" "drill_dlq" {
  count = local.drill_enabled ? 1 : 0

  name                      = local.drill_dead_letter_queue_name
  message_retention_seconds = var.queue_dlq_message_retention_seconds

  sqs_managed_sse_enabled           = var.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_key_arn == null ? null : 300

  tags = merge(var.tags, var.queue_tags)
}

# EventBridge needs a queue policy to deliver the events it could not send to the drill;
# Lambda's own dead-letter delivery uses the function's role.
resource "aws_sqs_queue_policy" "drill_dlq" {
  count = local.drill_enabled ? 1 : 0

  queue_url = aws_sqs_queue.drill_dlq[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DrillScheduleRuleDeadLetters"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.drill_dlq[0].arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.drill[0].arn } }
    }]
  })
}

################################################################################
# Alarms (the function's errors and its dead-letter queue: alarms.tf)
################################################################################

resource "aws_cloudwatch_metric_alarm" "restore_drill_failed" {
  count = var.create_alarms && local.drill_enabled ? 1 : 0

  alarm_name        = "${var.name}-restore-drill-failed"
  alarm_description = "A restore drill of the DynamoDB backups with prefix ${local.backup_name_prefix} failed: a table had no own backup, the restore failed or timed out, or the restored table did not match its backup; the alert e-mail names the table, the backup and the reason. Runbook: ${var.runbook_url}#${local.runbook_anchors.restore_drill_failed}"

  namespace   = var.metrics_namespace
  metric_name = "RestoreDrillFailed"
  dimensions  = { BackupNamePrefix = local.backup_name_prefix }
  statistic   = "Sum"
  period      = var.alarm_period_seconds

  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions
  ok_actions    = local.ok_actions

  tags = merge(var.tags, var.alarm_tags)
}

# A dead man's switch like no_backup_succeeded (alarms.tf): RestoreDrillSucceeded is
# emitted only on success, missing data is "missing", and the alarm notifies when it
# leaves OK for INSUFFICIENT_DATA because no hour of two drill periods had a success.
# A fresh deploy stays in INSUFFICIENT_DATA, silent, until the first drill succeeds.
resource "aws_cloudwatch_metric_alarm" "no_restore_drill_succeeded" {
  count = local.drill_success_alarm ? 1 : 0

  alarm_name        = "${var.name}-no-restore-drill-succeeded"
  alarm_description = "No restore drill of the DynamoDB backups with prefix ${local.backup_name_prefix} succeeded in the last ${local.drill_success_evaluation_periods} hours (two periods of the drill's schedule ${var.restore_drill.schedule_expression}): the alarm leaves OK for INSUFFICIENT_DATA when every hour of that window lacked a success. Check the drill's rule, its errors and its dead-letter queue. Runbook: ${var.runbook_url}#${local.runbook_anchors.no_restore_drill_succeeded}"

  namespace   = var.metrics_namespace
  metric_name = "RestoreDrillSucceeded"
  dimensions  = { BackupNamePrefix = local.backup_name_prefix }
  statistic   = "Sum"
  period      = 3600

  evaluation_periods  = local.drill_success_evaluation_periods
  datapoints_to_alarm = local.drill_success_evaluation_periods
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "missing"

  alarm_actions             = local.alarm_actions
  insufficient_data_actions = local.alarm_actions
  ok_actions                = local.ok_actions

  tags = merge(var.tags, var.alarm_tags)
}
