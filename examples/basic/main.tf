# Back up two tables by name once a day, keep three days, alert by e-mail.

provider "aws" {
  region = var.region
}

variable "region" {
  description = "Region of the tables."
  type        = string
  default     = "eu-west-1"
}

variable "alert_email" {
  description = "Who receives the failure alerts (confirm the subscription e-mail)."
  type        = string
  default     = "platform-team@example.com"
}

module "dynamodb_backup" {
  source = "../../"

  table_names             = ["orders", "customers"]
  sns_subscription_emails = [var.alert_email]

  tags = {
    Project = "dynamodb-backup-basic"
  }
}

output "scheduler_function_name" {
  description = "Name of the scheduler function."
  value       = module.dynamodb_backup.scheduler_function_name
}

output "sns_topic_arn" {
  description = "Topic that receives failure alerts and alarms."
  value       = module.dynamodb_backup.sns_topic_arn
}
