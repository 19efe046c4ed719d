################################################################################
# CloudWatch alarms, all to the alert topic
################################################################################

locals {
  alarm_actions = [local.sns_topic_arn]
  ok_actions    = var.alarm_ok_notifications ? [local.sns_topic_arn] : []

  function_error_alarms = merge(
    {
      scheduler = var.create_alarms && var.alarm_scheduler_errors_enabled
      monitor   = var.create_alarms && var.alarm_monitor_errors_enabled
    },
    # The restore drill's (drill.tf) follow create_alarms.
    local.drill_enabled ? { drill = var.create_alarms } : {},
  )
  deployed_function_names = { for k, f in aws_lambda_function.this : k => f.function_name }

  dlq_alarms = merge(
    {
      monitor   = var.create_alarms && var.alarm_dlq_enabled
      scheduler = var.create_alarms && var.alarm_scheduler_dlq_enabled
    },
    local.drill_enabled ? { drill = var.create_alarms } : {},
  )
  dlq_names = merge(
    {
      monitor   = aws_sqs_queue.monitor_dlq.name
      scheduler = aws_sqs_queue.scheduler_dlq.name
    },
    { for q in aws_sqs_queue.drill_dlq : "drill" => q.name },
  )
}

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  for_each = { for k, enabled in local.function_error_alarms : k => local.deployed_function_names[k] if enabled }

  alarm_name        = "${var.name}-${each.key}-errors"
  alarm_description = "The DynamoDB backup ${each.key} function ${each.value} failed; see its log group. Runbook: ${var.runbook_url}#${local.runbook_anchors["${each.key}_errors"]}"

  namespace   = "AWS/Lambda"
  metric_name = "Errors"
  dimensions  = { FunctionName = each.value }
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

resource "aws_cloudwatch_metric_alarm" "backups_failed" {
  count = var.create_alarms && var.alarm_backups_failed_enabled ? 1 : 0

  alarm_name        = "${var.name}-backups-failed"
  alarm_description = "At least one DynamoDB backup with prefix ${local.backup_name_prefix} could not start, failed or timed out; the alert e-mail names the tables. Runbook: ${var.runbook_url}#${local.runbook_anchors.backups_failed}"

  namespace   = var.metrics_namespace
  metric_name = "BackupsFailed"
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

resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  for_each = { for k, enabled in local.dlq_alarms : k => local.dlq_names[k] if enabled }

  alarm_name        = "${var.name}-${each.key}-dlq-not-empty"
  alarm_description = "The ${each.key} dead-letter queue ${each.value} holds messages that were not handled; inspect and redrive them. Runbook: ${var.runbook_url}#${local.runbook_anchors["${each.key}_dlq_not_empty"]}"

  namespace   = "AWS/SQS"
  metric_name = "ApproximateNumberOfMessagesVisible"
  dimensions  = { QueueName = each.value }
  statistic   = "Maximum"
  period      = var.alarm_period_seconds

  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions
  ok_actions    = local.ok_actions

  tags = merge(var.tags, var.alarm_tags)
}

# Dead man's switch. BackupsSucceeded is emitted only when > 0, so "no success" is missing
# data, and missing data cannot tell "the schedule stopped" from "just deployed, the first
# run is still to come". treat_missing_data = "missing" tells them apart by state: a new
# alarm starts in INSUFFICIENT_DATA and, while every hour of the window is missing, stays
# there (no state change, so no action: a fresh deploy alarms nobody). The first success
# turns it OK. When no success arrives for the whole window (schedule period + margin)
# every data point of the evaluation range is missing and the alarm goes from OK to
# INSUFFICIENT_DATA ("missing - If all data points in the alarm evaluation range are
# missing, the alarm transitions to INSUFFICIENT_DATA", CloudWatch User Guide,
# "Configuring how CloudWatch alarms treat missing data"); that transition notifies the
# topic (insufficient_data_actions). So that a schedule that never fires at all is caught
# too, the module runs the scheduler once at apply (first_backup_at_apply, main.tf): its
# success arms the alarm minutes after the deploy.
resource "aws_cloudwatch_metric_alarm" "no_backup_succeeded" {
  count = var.create_alarms && var.alarm_dead_man_enabled ? 1 : 0

  alarm_name        = "${var.name}-no-backup-succeeded"
  alarm_description = "No DynamoDB backup with prefix ${local.backup_name_prefix} succeeded in the last ${coalesce(local.dead_man_evaluation_periods, 0)} hours (schedule ${var.schedule_expression}): the alarm leaves OK for INSUFFICIENT_DATA when every hour of that window lacked a success. Check the schedule rule, the scheduler's errors and its dead-letter queue. Runbook: ${var.runbook_url}#${local.runbook_anchors.no_backup_succeeded}"

  namespace   = var.metrics_namespace
  metric_name = "BackupsSucceeded"
  dimensions  = { BackupNamePrefix = local.backup_name_prefix }
  statistic   = "Sum"
  period      = 3600

  evaluation_periods  = local.dead_man_evaluation_periods
  datapoints_to_alarm = local.dead_man_evaluation_periods
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "missing"

  alarm_actions             = local.alarm_actions
  insufficient_data_actions = local.alarm_actions
  ok_actions                = local.ok_actions

  tags = merge(var.tags, var.alarm_tags)

  lifecycle {
    precondition {
      condition     = local.dead_man_evaluation_periods != null
      error_message = "A cron(...) schedule has no fixed period: set alarm_dead_man_window_seconds (or alarm_dead_man_enabled = false)."
    }
    precondition {
      condition     = try(local.dead_man_evaluation_periods * 3600 <= 604800, true)
      error_message = "The dead-man window (schedule period + alarm_dead_man_margin_seconds) exceeds the 7 days CloudWatch can evaluate; set alarm_dead_man_window_seconds."
    }
  }
}
