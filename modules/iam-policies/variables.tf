variable "partition" {
  description = "AWS partition (`aws`, `aws-cn`, `aws-us-gov`, ...)."
  type        = string
}

variable "region" {
  description = "Region of the tables, queue, topic and log groups."
  type        = string
}

variable "account_id" {
  description = "Account that owns the tables."
  type        = string
}

variable "table_names" {
  description = "Tables selected by name."
  type        = list(string)
  default     = []
}

variable "table_tags" {
  description = "Tables selected by tags (all must match)."
  type        = map(string)
  default     = {}
}

variable "dynamodb_abac_enabled" {
  description = "Whether attribute-based access control is enabled for DynamoDB in the account and region. `true`: tag selection grants `CreateBackup` on `table/*` only where the tags match (`aws:ResourceTag/<key>` conditions). `false`: without the condition (with ABAC off those conditions see no tags and deny every table)."
  type        = bool
  default     = true
}

variable "queue_arn" {
  description = "ARN of the FIFO monitoring queue."
  type        = string
}

variable "topic_arn" {
  description = "ARN of the alert topic."
  type        = string
}

variable "kms_key_arns" {
  description = "Customer-managed keys of the queues and the topic; empty when none is used."
  type        = list(string)
  default     = []
}

variable "scheduler_log_group_arn" {
  description = "ARN of the scheduler's log group (without the trailing `:*`)."
  type        = string
}

variable "monitor_log_group_arn" {
  description = "ARN of the monitor's log group (without the trailing `:*`)."
  type        = string
}

variable "scheduler_failure_destination_arn" {
  description = "ARN of the SQS queue that receives the scheduler's failed asynchronous invocations (its dead-letter queue); `null` when there is none."
  type        = string
  default     = null
}

variable "table_arns_max_chars" {
  description = "Budget, in characters of JSON, for the list of backup ARNs (the longer of the two per-table statements). Longer lists are replaced by name-prefix patterns (`table/<first k characters>*`) with the largest k that fits. The default keeps each role's whole policy under the 6,144 characters of a managed policy, well under the 10,240 of inline policies."
  type        = number
  default     = 4700

  validation {
    condition     = var.table_arns_max_chars >= 200
    error_message = "table_arns_max_chars must be at least 200."
  }
}

variable "backup_name_prefix" {
  description = "The instance's backup name prefix (`BACKUP_NAME_PREFIX`). With `drill_enabled` the drill's and the monitor's table actions on drill tables are scoped to `table/<prefix>-drill-*`; required then."
  type        = string
  default     = null

  validation {
    condition     = var.backup_name_prefix == null || can(regex("^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$", var.backup_name_prefix))
    error_message = "backup_name_prefix must be null or 1-64 characters of [a-zA-Z0-9_.-] starting with a letter or digit, for example \"nightly\"."
  }
}

variable "drill_enabled" {
  description = "Whether the restore drill is deployed: builds `drill_policy_json` and gives the monitor `DescribeTable`/`Scan`/`DeleteTable` on drill tables."
  type        = bool
  default     = false
}

variable "drill_log_group_arn" {
  description = "ARN of the drill's log group (without the trailing `:*`); `null` when the drill is off."
  type        = string
  default     = null
}

variable "drill_failure_destination_arn" {
  description = "ARN of the SQS queue that receives the drill's failed asynchronous invocations (its dead-letter queue); `null` when there is none."
  type        = string
  default     = null
}
