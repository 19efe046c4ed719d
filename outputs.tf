output "scheduler_function_arn" {
  description = "ARN of the scheduler function."
  value       = aws_lambda_function.this["scheduler"].arn
}

output "scheduler_function_name" {
  description = "Name of the scheduler function."
  value       = aws_lambda_function.this["scheduler"].function_name
}

output "scheduler_role_arn" {
  description = "ARN of the scheduler's IAM role."
  value       = aws_iam_role.this["scheduler"].arn
}

output "scheduler_role_name" {
  description = "Name of the scheduler's IAM role."
  value       = aws_iam_role.this["scheduler"].name
}

output "scheduler_log_group_name" {
  description = "Log group of the scheduler."
  value       = aws_cloudwatch_log_group.this["scheduler"].name
}

output "scheduler_log_group_arn" {
  description = "ARN of the scheduler's log group."
  value       = aws_cloudwatch_log_group.this["scheduler"].arn
}

output "scheduler_dlq_arn" {
  description = "ARN of the scheduler's dead-letter queue (failed scheduled invocations)."
  value       = aws_sqs_queue.scheduler_dlq.arn
}

output "scheduler_dlq_name" {
  description = "Name of the scheduler's dead-letter queue."
  value       = aws_sqs_queue.scheduler_dlq.name
}

output "scheduler_dlq_url" {
  description = "URL of the scheduler's dead-letter queue."
  value       = aws_sqs_queue.scheduler_dlq.url
}

output "monitor_function_arn" {
  description = "ARN of the monitor function."
  value       = aws_lambda_function.this["monitor"].arn
}

output "monitor_function_name" {
  description = "Name of the monitor function."
  value       = aws_lambda_function.this["monitor"].function_name
}

output "monitor_role_arn" {
  description = "ARN of the monitor's IAM role."
  value       = aws_iam_role.this["monitor"].arn
}

output "monitor_role_name" {
  description = "Name of the monitor's IAM role."
  value       = aws_iam_role.this["monitor"].name
}

output "monitor_log_group_name" {
  description = "Log group of the monitor."
  value       = aws_cloudwatch_log_group.this["monitor"].name
}

output "monitor_log_group_arn" {
  description = "ARN of the monitor's log group."
  value       = aws_cloudwatch_log_group.this["monitor"].arn
}

output "monitor_event_source_mapping_uuid" {
  description = "UUID of the event source mapping from the monitoring queue to the monitor."
  value       = aws_lambda_event_source_mapping.monitor.uuid
}

output "queue_arn" {
  description = "ARN of the FIFO monitoring queue."
  value       = aws_sqs_queue.monitor.arn
}

output "queue_url" {
  description = "URL of the FIFO monitoring queue."
  value       = aws_sqs_queue.monitor.url
}

output "queue_name" {
  description = "Name of the FIFO monitoring queue."
  value       = aws_sqs_queue.monitor.name
}

output "dlq_arn" {
  description = "ARN of the monitoring queue's dead-letter queue."
  value       = aws_sqs_queue.monitor_dlq.arn
}

output "dlq_url" {
  description = "URL of the monitoring queue's dead-letter queue."
  value       = aws_sqs_queue.monitor_dlq.url
}

output "dlq_name" {
  description = "Name of the monitoring queue's dead-letter queue."
  value       = aws_sqs_queue.monitor_dlq.name
}

output "sns_topic_arn" {
  description = "ARN of the alert topic (created or passed in)."
  value       = local.sns_topic_arn
}

output "sns_kms_key_arn" {
  description = "ARN of the key the module created for the alert topic, or null."
  value       = one(aws_kms_key.sns[*].arn)
}

output "schedule_rule_arn" {
  description = "ARN of the trigger: the EventBridge schedule rule, or the EventBridge Scheduler schedule when `schedule_timezone` is set."
  value       = local.schedule_trigger_arn
}

output "schedule_rule_name" {
  description = "Name of the trigger: the EventBridge schedule rule, or the EventBridge Scheduler schedule (default group) when `schedule_timezone` is set."
  value       = local.schedule_trigger_name
}

output "alarm_arns" {
  description = "ARNs of the alarms the module created, by purpose."
  value = merge(
    { for k, a in aws_cloudwatch_metric_alarm.function_errors : "${k}_errors" => a.arn },
    { for k, a in aws_cloudwatch_metric_alarm.dlq_not_empty : "${k}_dlq_not_empty" => a.arn },
    { for a in aws_cloudwatch_metric_alarm.backups_failed : "backups_failed" => a.arn },
    { for a in aws_cloudwatch_metric_alarm.no_backup_succeeded : "no_backup_succeeded" => a.arn },
    { for a in aws_cloudwatch_metric_alarm.tables_unprotected : "tables_unprotected" => a.arn },
    { for a in aws_cloudwatch_metric_alarm.restore_drill_failed : "restore_drill_failed" => a.arn },
    { for a in aws_cloudwatch_metric_alarm.no_restore_drill_succeeded : "no_restore_drill_succeeded" => a.arn },
  )
}

output "table_names_in_file" {
  description = "Whether the table list is too long for the environment and ships as `dynamodb_backup_tables.json` inside the zip (`TABLE_NAMES_FILE`)."
  value       = local.table_names_in_file
}

output "lambda_package_path" {
  description = "Path of the zip both functions run."
  value       = data.archive_file.lambda.output_path
}

output "deletion_guard_policy_json" {
  description = "A policy document that denies `dynamodb:DeleteBackup` on the selected tables' backups (every table's in the region with `table_tags` or a list shipped as a file) to every principal except this instance's monitor role. Attach it as a service control policy or a permissions boundary; the module attaches it nowhere."
  value       = local.deletion_guard_policy_json
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard, `<name>-<region>` (`null` with `create_dashboard = false`)."
  value       = one(aws_cloudwatch_dashboard.this[*].dashboard_name)
}

output "schedule_role_arn" {
  description = "ARN of the role EventBridge Scheduler uses to start the scheduler (`null` without `schedule_timezone`)."
  value       = one(aws_iam_role.schedule[*].arn)
}

output "backup_name_prefix" {
  description = "Prefix of every backup this instance creates and owns (`backup_name_prefix`, or `name` by default); also the `BackupNamePrefix` dimension of its metrics."
  value       = local.backup_name_prefix
}

output "drill_function_arn" {
  description = "ARN of the restore drill function `<name>-drill` (`null` unless `restore_drill.enabled`)."
  value       = one([for k, r in aws_lambda_function.this : r.arn if k == "drill"])
}

output "drill_function_name" {
  description = "Name of the restore drill function (`null` unless `restore_drill.enabled`)."
  value       = one([for k, r in aws_lambda_function.this : r.function_name if k == "drill"])
}

output "drill_role_arn" {
  description = "ARN of the restore drill's IAM role (`null` unless `restore_drill.enabled`)."
  value       = one([for k, r in aws_iam_role.this : r.arn if k == "drill"])
}

output "drill_role_name" {
  description = "Name of the restore drill's IAM role (`null` unless `restore_drill.enabled`)."
  value       = one([for k, r in aws_iam_role.this : r.name if k == "drill"])
}

output "drill_log_group_name" {
  description = "Log group of the restore drill (`null` unless `restore_drill.enabled`)."
  value       = one([for k, r in aws_cloudwatch_log_group.this : r.name if k == "drill"])
}

output "drill_log_group_arn" {
  description = "ARN of the restore drill's log group (`null` unless `restore_drill.enabled`)."
  value       = one([for k, r in aws_cloudwatch_log_group.this : r.arn if k == "drill"])
}

output "drill_schedule_rule_arn" {
  description = "ARN of the restore drill's EventBridge rule `<name>-drill-schedule` (`null` unless `restore_drill.enabled`)."
  value       = one(aws_cloudwatch_event_rule.drill[*].arn)
}

output "drill_schedule_rule_name" {
  description = "Name of the restore drill's EventBridge rule (`null` unless `restore_drill.enabled`)."
  value       = one(aws_cloudwatch_event_rule.drill[*].name)
}

output "drill_period_seconds" {
  description = "The drill schedule's period in seconds, as the drill receives it (`detail.drill_period_seconds`) to rotate through the selection (`null` unless `restore_drill.enabled`)."
  value       = local.drill_enabled ? local.drill_period_seconds : null
}

output "drill_dlq_arn" {
  description = "ARN of the restore drill's dead-letter queue `<name>-drill-dlq` (failed scheduled invocations; `null` unless `restore_drill.enabled`)."
  value       = one(aws_sqs_queue.drill_dlq[*].arn)
}

output "drill_dlq_name" {
  description = "Name of the restore drill's dead-letter queue (`null` unless `restore_drill.enabled`)."
  value       = one(aws_sqs_queue.drill_dlq[*].name)
}

output "drill_dlq_url" {
  description = "URL of the restore drill's dead-letter queue (`null` unless `restore_drill.enabled`)."
  value       = one(aws_sqs_queue.drill_dlq[*].url)
}
