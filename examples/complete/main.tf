# Everything tuned: a customer-managed KMS key for queues, topic and logs, an existing
# alert topic, a cron schedule, longer retention, tuned alarms, the coverage alert and the
# restore drill.

provider "aws" {
  region = var.region
}

variable "region" {
  description = "Region of the tables."
  type        = string
  default     = "eu-west-1"
}

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.id
}

# The key must let CloudWatch Logs, CloudWatch alarms (publishing to the topic) and
# EventBridge (the schedule's dead-letter queue) use it; the functions' roles get
# their own kms:GenerateDataKey/Decrypt grants from the module.
resource "aws_kms_key" "backup" {
  description             = "DynamoDB backup: queues, alert topic and logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministersKeyThroughIAM"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*" }
        }
      },
      {
        # The statement the Amazon SNS Developer Guide documents for AWS services that
        # publish to encrypted topics and queues (CloudWatch alarms; EventBridge delivering
        # to the schedule's dead-letter queue): no condition, since neither service is
        # documented to send aws:SourceAccount on these KMS calls.
        Sid       = "AlarmsAndEventsPublish"
        Effect    = "Allow"
        Principal = { Service = ["cloudwatch.amazonaws.com", "events.amazonaws.com"] }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
      },
    ]
  })
}

# An alert topic that already exists in the account (here created alongside).
resource "aws_sns_topic" "alerts" {
  name              = "platform-alerts"
  kms_master_key_id = aws_kms_key.backup.arn
}

module "dynamodb_backup" {
  source = "../../"

  name               = "prod-dynamodb-backup"
  schedule_rule_name = "ProdDynamoDBBackupSchedule"
  # 02:30 every day; cron schedules need the dead-man window set explicitly.
  schedule_expression           = "cron(30 2 * * ? *)"
  alarm_dead_man_window_seconds = 97200 # 27 hours
  # Dublin time (an EventBridge Scheduler schedule instead of the UTC rule). 02:30 is
  # never skipped or repeated there: Irish clocks change between 01:00 and 02:00.
  schedule_timezone = "Europe/Dublin"

  table_names        = ["orders", "customers", "invoices", "payments.v2"]
  backup_name_prefix = "nightly"

  # Coverage: every run alerts the tables nothing backs up, except scratch tables.
  unprotected_tables_exclude       = ["tmp-*", "*-scratch"]
  alert_unprotected_tables         = true
  alarm_unprotected_tables_enabled = true

  retention_days      = 35
  min_backups_to_keep = 7
  max_wait_minutes    = 720

  # Grandfather-father-son from the one daily backup: beyond the 35 days, the newest
  # backup of each of the last 8 weeks, 12 months and 1 year. Payments keep 7 yearlies.
  keep_weekly  = 8
  keep_monthly = 12
  keep_yearly  = 1
  retention_overrides = {
    "payments.v2" = { keep_yearly = 7 }
  }

  kms_key_arn      = aws_kms_key.backup.arn
  create_sns_topic = false
  sns_topic_arn    = aws_sns_topic.alerts.arn

  architecture                      = "x86_64"
  cloudwatch_logs_retention_in_days = 731
  log_level                         = "DEBUG"
  monitor_batch_size                = 5
  monitor_maximum_concurrency       = 4
  monitor_timeout                   = 120

  # With a 720 s visibility timeout (6 x 120 s), one day of retention lets a failing
  # message be retried 5 times before it moves to the dead-letter queue.
  queue_message_retention_seconds = 86400
  queue_max_receive_count         = 5

  # Prove the backups restore: every 3 days the newest backup of one table (in turn) is
  # restored, verified and deleted; two periods without a success alarm (6 days, within
  # the 7 days CloudWatch can look back). Backups over 50 GiB are not restored.
  restore_drill = {
    enabled             = true
    schedule_expression = "rate(3 days)"
    max_backup_size_gb  = 50
    max_wait_minutes    = 360
  }

  alarm_period_seconds           = 60
  alarm_ok_notifications         = true
  alarm_scheduler_errors_enabled = true
  alarm_monitor_errors_enabled   = true

  tags = {
    Project     = "dynamodb-backup-complete"
    Environment = "prod"
  }
  queue_tags = {
    Component = "backup-monitoring"
  }
  lambda_function_tags = {
    Component = "backup-functions"
  }
}

output "module" {
  description = "Every output of the module."
  value       = module.dynamodb_backup
}
