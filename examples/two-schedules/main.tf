# The same two tables backed up twice, by two instances of the module: daily backups kept
# 7 days and weekly backups kept 35 days. Each instance has its own name, so nothing is
# shared: rule, functions, queues, roles, log groups, alarms, topic, key, the backups'
# name prefix (= name) and the BackupNamePrefix dimension of the metrics and alarms.
# Neither instance ever deletes the other's backups (a backup is an instance's own only if
# its name is exactly one it gives that table for some slot).

provider "aws" {
  region = var.region
}

variable "region" {
  description = "Region of the tables."
  type        = string
  default     = "eu-west-1"
}

variable "alert_email" {
  description = "Who receives the failure alerts of both instances (confirm both subscription e-mails)."
  type        = string
  default     = "platform-team@example.com"
}

locals {
  tables = ["orders", "customers"]
}

module "daily" {
  source = "../../"

  name                = "orders-backup-daily"
  table_names         = local.tables
  schedule_expression = "rate(1 day)"
  retention_days      = 7

  sns_subscription_emails = [var.alert_email]

  tags = {
    Project  = "dynamodb-backup-two-schedules"
    Schedule = "daily"
  }
}

module "weekly" {
  source = "../../"

  name                = "orders-backup-weekly"
  table_names         = local.tables
  schedule_expression = "cron(0 3 ? * SUN *)"
  retention_days      = 35
  # A cron schedule has no fixed period; one week is also the longest window CloudWatch
  # evaluates.
  alarm_dead_man_window_seconds = 604800

  sns_subscription_emails = [var.alert_email]

  tags = {
    Project  = "dynamodb-backup-two-schedules"
    Schedule = "weekly"
  }
}

output "backup_name_prefixes" {
  description = "The prefix of each instance's backups (its name)."
  value = {
    daily  = module.daily.backup_name_prefix
    weekly = module.weekly.backup_name_prefix
  }
}

output "schedule_rule_names" {
  description = "Each instance's EventBridge rule."
  value = {
    daily  = module.daily.schedule_rule_name
    weekly = module.weekly.schedule_rule_name
  }
}
