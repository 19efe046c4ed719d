# Back up every table tagged backup=daily and environment=prod, twice a day.

provider "aws" {
  region = var.region
}

variable "region" {
  description = "Region of the tables."
  type        = string
  default     = "eu-west-1"
}

module "dynamodb_backup" {
  source = "../../"

  name                = "tagged-tables-backup"
  schedule_rule_name  = "TaggedTablesBackupSchedule"
  schedule_expression = "rate(12 hours)"
  backup_name_prefix  = "tagged"

  table_tags = {
    backup      = "daily"
    environment = "prod"
  }

  sns_subscription_emails = ["platform-team@example.com"]

  tags = {
    Project = "dynamodb-backup-tag-selection"
  }
}

output "scheduler_role_arn" {
  description = "Role allowed to back up the tagged tables."
  value       = module.dynamodb_backup.scheduler_role_arn
}

output "queue_url" {
  description = "FIFO monitoring queue."
  value       = module.dynamodb_backup.queue_url
}
