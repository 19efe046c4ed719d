# The module in two regions of one account. Each region gets its own instance (functions,
# queues, topic, alarms, dashboard): backups are regional, and so is everything that
# watches them. IAM roles are account-wide, so the instances get different names.

provider "aws" {
  alias  = "eu_west_1"
  region = "eu-west-1"
}

provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"
}

variable "alert_email" {
  description = "Who receives the failure alerts of both regions (confirm each subscription e-mail)."
  type        = string
  default     = "platform-team@example.com"
}

module "dynamodb_backup" {
  source    = "../../"
  providers = { aws = aws.eu_west_1 }

  # Role names are global: the name carries the region.
  name                    = "dynamodb-backup-eu-west-1"
  table_names             = ["orders", "customers"]
  sns_subscription_emails = [var.alert_email]

  tags = {
    Project = "dynamodb-backup-multi-region"
  }
}

module "dynamodb_backup_us_east_1" {
  source    = "../../"
  providers = { aws = aws.us_east_1 }

  name                    = "dynamodb-backup-us-east-1"
  table_names             = ["orders", "sessions"]
  sns_subscription_emails = [var.alert_email]

  tags = {
    Project = "dynamodb-backup-multi-region"
  }
}

output "scheduler_function_names" {
  description = "Name of each region's scheduler function."
  value = {
    "eu-west-1" = module.dynamodb_backup.scheduler_function_name
    "us-east-1" = module.dynamodb_backup_us_east_1.scheduler_function_name
  }
}

output "sns_topic_arns" {
  description = "Each region's alert topic."
  value = {
    "eu-west-1" = module.dynamodb_backup.sns_topic_arn
    "us-east-1" = module.dynamodb_backup_us_east_1.sns_topic_arn
  }
}
