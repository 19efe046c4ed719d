################################################################################
# CloudWatch dashboard: the backups at a glance
################################################################################

# Built from the names the alarms use (alarms.tf): the same functions, queues, namespace
# and BackupNamePrefix dimension.
locals {
  dashboard_period = 3600
  dashboard_prefix = local.backup_name_prefix

  dashboard_backup_metrics = ["BackupsSucceeded", "BackupsFailed", "BackupsPending", "BackupsDeleted"]

  dashboard_alarm_arns = concat(
    [for a in aws_cloudwatch_metric_alarm.no_backup_succeeded : a.arn],
    [for a in aws_cloudwatch_metric_alarm.backups_failed : a.arn],
    var.create_alarms && var.alarm_unprotected_tables_enabled ? [aws_cloudwatch_metric_alarm.tables_unprotected[0].arn] : [],
    [for k in sort(keys(aws_cloudwatch_metric_alarm.function_errors)) : aws_cloudwatch_metric_alarm.function_errors[k].arn],
    [for k in sort(keys(aws_cloudwatch_metric_alarm.dlq_not_empty)) : aws_cloudwatch_metric_alarm.dlq_not_empty[k].arn],
    var.create_alarms && local.drill_enabled ? [aws_cloudwatch_metric_alarm.restore_drill_failed[0].arn] : [],
    local.drill_success_alarm ? [aws_cloudwatch_metric_alarm.no_restore_drill_succeeded[0].arn] : [],
  )

  # The functions in the order of the graphs; the drill with restore_drill.enabled.
  dashboard_functions = concat(["scheduler", "monitor"], local.drill_enabled ? ["drill"] : [])
  dashboard_dlqs      = concat(["monitor", "scheduler"], local.drill_enabled ? ["drill"] : [])

  dashboard_metric_widgets = concat([
    {
      title   = "Backups (prefix ${local.dashboard_prefix})"
      stat    = "Sum"
      view    = "timeSeries"
      metrics = [for m in local.dashboard_backup_metrics : [var.metrics_namespace, m, "BackupNamePrefix", local.dashboard_prefix]]
    },
    {
      title   = "Tables no selection covers"
      stat    = "Maximum"
      view    = "timeSeries"
      metrics = [[var.metrics_namespace, "TablesUnprotected", "BackupNamePrefix", local.dashboard_prefix]]
    },
    {
      title   = "Storage of own backups (bytes)"
      stat    = "Maximum"
      view    = "timeSeries"
      metrics = [[var.metrics_namespace, "BackupStorageBytes", "BackupNamePrefix", local.dashboard_prefix]]
    },
    {
      title   = "Function errors"
      stat    = "Sum"
      view    = "timeSeries"
      metrics = [for k in local.dashboard_functions : ["AWS/Lambda", "Errors", "FunctionName", local.deployed_function_names[k]]]
    },
    {
      title   = "Function duration (ms, maximum)"
      stat    = "Maximum"
      view    = "timeSeries"
      metrics = [for k in local.dashboard_functions : ["AWS/Lambda", "Duration", "FunctionName", local.deployed_function_names[k]]]
    },
    {
      title   = "Monitoring queue: age of oldest message (s)"
      stat    = "Maximum"
      view    = "timeSeries"
      metrics = [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", aws_sqs_queue.monitor.name]]
    },
    {
      title   = "Dead-letter queues: messages visible"
      stat    = "Maximum"
      view    = "timeSeries"
      metrics = [for k in local.dashboard_dlqs : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", local.dlq_names[k]]]
    },
    ],
    # The restore drill (behaviour 10): outcomes, and restore start to ACTIVE.
    !local.drill_enabled ? [] : [
      {
        title   = "Restore drills"
        stat    = "Sum"
        view    = "timeSeries"
        metrics = [for m in ["RestoreDrillSucceeded", "RestoreDrillFailed"] : [var.metrics_namespace, m, "BackupNamePrefix", local.dashboard_prefix]]
      },
      {
        title   = "Restore drill: restore to ACTIVE (s, maximum)"
        stat    = "Maximum"
        view    = "timeSeries"
        metrics = [[var.metrics_namespace, "RestoreDrillSeconds", "BackupNamePrefix", local.dashboard_prefix]]
      },
  ])

  dashboard_widgets = concat(
    length(local.dashboard_alarm_arns) == 0 ? [] : [{
      type   = "alarm"
      x      = 0
      y      = 0
      width  = 24
      height = 3
      properties = {
        title  = "Alarms"
        alarms = local.dashboard_alarm_arns
      }
    }],
    [for i, w in local.dashboard_metric_widgets : {
      type   = "metric"
      x      = (i % 3) * 8
      y      = 3 + floor(i / 3) * 6
      width  = 8
      height = 6
      properties = {
        title   = w.title
        view    = w.view
        stat    = w.stat
        period  = local.dashboard_period
        region  = local.region
        metrics = w.metrics
      }
    }],
  )

  dashboard_body = jsonencode({ start = "-P7D", widgets = local.dashboard_widgets })
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.create_dashboard ? 1 : 0

  # Dashboards are account-wide (not regional): the region keeps two regions' instances
  # of one name apart.
  dashboard_name = "${var.name}-${local.region}"
  dashboard_body = local.dashboard_body
}
