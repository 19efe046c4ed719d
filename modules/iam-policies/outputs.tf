output "scheduler_policy_json" {
  # Statements are encoded one by one (they differ in shape: one has a Condition) and
  # joined, which keeps every conditional a list of strings.
  description = "Inline policy of the scheduler's role."
  value       = format("{\"Version\":\"2012-10-17\",\"Statement\":[%s]}", join(",", local.scheduler_statements))
}

output "monitor_policy_json" {
  description = "Inline policy of the monitor's role."
  value       = format("{\"Version\":\"2012-10-17\",\"Statement\":[%s]}", join(",", local.monitor_statements))
}

output "table_arns" {
  description = "Resources of the scheduler's CreateBackup statement for `table_names` (exact ARNs or name-prefix patterns)."
  value       = local.table_arns
}

output "backup_arns" {
  description = "Resources of the monitor's DescribeBackup/DeleteBackup statement for `table_names`."
  value       = local.backup_arns
}

output "drill_policy_json" {
  description = "Inline policy of the restore drill's role; `null` when `drill_enabled` is false."
  value       = var.drill_enabled ? format("{\"Version\":\"2012-10-17\",\"Statement\":[%s]}", join(",", local.drill_statements)) : null
}
