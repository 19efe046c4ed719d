################################################################################
# Coverage (behaviour 11): an optional alarm on TablesUnprotected
################################################################################

# The scheduler emits TablesUnprotected once per run. Between runs there is no data:
# "ignore" keeps the state of the latest run, so the alarm notifies once when a table
# goes unprotected and returns to OK when a run counts none (the daily reminder is
# alert_unprotected_tables). The dimension is the instance's prefix.
resource "aws_cloudwatch_metric_alarm" "tables_unprotected" {
  count = var.create_alarms && var.alarm_unprotected_tables_enabled ? 1 : 0

  alarm_name        = "${var.name}-tables-unprotected"
  alarm_description = "The latest run of the DynamoDB backup with prefix ${local.backup_name_prefix} found tables in this account and region that no selection covers and no unprotected_tables_exclude pattern excuses; they are not backed up. The scheduler's log (\"coverage checked\") names them, and so does the alert with alert_unprotected_tables = true. Runbook: ${var.runbook_url}#${local.runbook_anchors.tables_unprotected}"

  namespace   = var.metrics_namespace
  metric_name = "TablesUnprotected"
  dimensions  = { BackupNamePrefix = local.backup_name_prefix }
  statistic   = "Maximum"
  period      = var.alarm_period_seconds

  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "ignore"

  alarm_actions = local.alarm_actions
  ok_actions    = local.ok_actions

  tags = merge(var.tags, var.alarm_tags)
}
