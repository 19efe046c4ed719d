################################################################################
# General
################################################################################

variable "name" {
  description = "Name stem of every resource the module creates (functions `<name>-scheduler` and `<name>-monitor`, queues `<name>-monitor.fifo`, `<name>-monitor-dlq.fifo` and `<name>-scheduler-dlq`, roles `<name>-scheduler-<region>` and `<name>-monitor-<region>`, log groups, alarms `<name>-...`, topic `<name>-alerts`, rule `<name>-schedule`) and, by default, the backups' name prefix. Two instances in one account must differ in it. Letters, digits, `-` and `_`, 1-40 characters."
  type        = string
  default     = "dynamodb-backup"

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{0,39}$", var.name))
    error_message = "name must be 1-40 characters of letters, digits, '-' and '_', starting with a letter or digit (it becomes part of function, queue and role names)."
  }
}

variable "tags" {
  description = "Tags added to every resource that supports tags (merged with the per-resource `*_tags` variables)."
  type        = map(string)
  default     = {}
}

variable "lambda_function_tags" {
  description = "Additional tags of both functions."
  type        = map(string)
  default     = {}
}

variable "iam_role_tags" {
  description = "Additional tags of both functions' roles."
  type        = map(string)
  default     = {}
}

variable "cloudwatch_log_group_tags" {
  description = "Additional tags of both functions' log groups."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "ARN of a customer-managed KMS key that encrypts the queues, the log groups, the functions' environment and, with `create_sns_kms_key = false`, the topic the module creates. Its key policy must allow `logs.<region>.amazonaws.com`, `events.amazonaws.com` (the schedule's dead-letter queue) and, for the topic, `cloudwatch.amazonaws.com` (alarms publish to it). `null`: SQS-managed encryption for the queues and CloudWatch Logs' own encryption for the logs."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>); aliases are not accepted because IAM policies need the key ARN."
  }
}

################################################################################
# What to back up
################################################################################

variable "table_names" {
  description = "Names of the DynamoDB tables to back up. Lists whose JSON exceeds 2,000 characters are shipped as a file inside the Lambda zip instead of the `TABLE_NAMES` environment variable, and IAM then grants by name prefix patterns instead of one ARN per table."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for n in var.table_names : can(regex("^[a-zA-Z0-9_.-]{3,255}$", n))])
    error_message = "Every table name must match [a-zA-Z0-9_.-]{3,255}."
  }

  validation {
    condition     = length(distinct(var.table_names)) == length(var.table_names)
    error_message = "table_names must not contain duplicates."
  }
}

variable "table_tags" {
  description = "Back up every table of the account and region that carries all of these tags (key = value). Combined with `table_names` as a union. At least one of `table_names` and `table_tags` must select something."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([
      for k, v in var.table_tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(k, "aws:")
    ])
    error_message = "table_tags keys must be 1-128 characters and not start with 'aws:'; values at most 256 characters."
  }

  validation {
    condition     = length(jsonencode(var.table_tags)) <= 1000
    error_message = "table_tags must encode to at most 1,000 characters of JSON (it travels in the Lambda environment, limited to 4 KB)."
  }
}

variable "dynamodb_abac_enabled" {
  description = "Whether attribute-based access control (ABAC) is enabled for DynamoDB in this account and region. With `true` (default) tag selection may back up only the tables that carry `table_tags` (IAM `aws:ResourceTag` conditions). Where ABAC is off those conditions see no tags and every `CreateBackup` is AccessDenied: enable ABAC for DynamoDB in the account and region, or set `false`. Then the scheduler's role may back up any table of the region (the selection by tags still happens at run time, but a bug or a changed tag could create backups, which cost storage, of tables nobody selected). No effect without `table_tags`."
  type        = bool
  default     = true
}

variable "backup_name_prefix" {
  description = "Every backup the module creates is named `<prefix>-<table>-<slot>`; retention deletes only backups with exactly such names. Also the `BackupNamePrefix` dimension of the metrics and backup alarms. `null` (default): `name`, so two instances that differ in `name` never share backups or metrics. Before this default, the prefix was `scheduled`: set `backup_name_prefix = \"scheduled\"` to keep an existing deployment's backups its own (see Upgrading in the README)."
  type        = string
  default     = null

  validation {
    condition     = var.backup_name_prefix == null || can(regex("^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$", var.backup_name_prefix))
    error_message = "backup_name_prefix must be null (use name) or 1-64 characters of [a-zA-Z0-9_.-] starting with a letter or digit, for example \"nightly\"."
  }
}

################################################################################
# Retention
################################################################################

variable "retention_days" {
  description = "Delete the module's own backups of a table older than this many days, once that table's backup of the current run is AVAILABLE."
  type        = number
  default     = 3

  validation {
    condition     = var.retention_days >= 1 && floor(var.retention_days) == var.retention_days
    error_message = "retention_days must be a whole number >= 1."
  }
}

variable "min_backups_to_keep" {
  description = "Always keep at least this many of the newest AVAILABLE own backups per table, whatever their age. With 1 (default) the monitor lists only the backups past the retention and the run's own; above 1 (or with any `keep_*` tier) it lists every own backup of the account once per run, about one ListBackups call per 100 backups at 5 calls/s; a listing longer than one `monitor_timeout` resumes in the next invocation (see README, Retention)."
  type        = number
  default     = 1

  validation {
    condition     = var.min_backups_to_keep >= 1 && floor(var.min_backups_to_keep) == var.min_backups_to_keep
    error_message = "min_backups_to_keep must be a whole number >= 1 (never delete a table's last backup)."
  }
}

variable "keep_daily" {
  description = "Tiered retention: also keep the newest own backup of each of the last n calendar days (UTC) that have one; `0` turns the tier off. Periods without a backup are skipped, not counted; while the tier has count left at the oldest backup, that one is kept too (restic's `--keep-daily`). Any tier makes the monitor list every own backup once per run."
  type        = number
  default     = 0

  validation {
    condition     = var.keep_daily >= 0 && var.keep_daily <= 10000 && floor(var.keep_daily) == var.keep_daily
    error_message = "keep_daily must be a whole number from 0 (off) to 10000, for example 4."
  }
}

variable "keep_weekly" {
  description = "Tiered retention: also keep the newest own backup of each of the last n ISO weeks (UTC) that have one; `0` turns the tier off. Periods without a backup are skipped, not counted; while the tier has count left at the oldest backup, that one is kept too (restic's `--keep-weekly`). Any tier makes the monitor list every own backup once per run."
  type        = number
  default     = 0

  validation {
    condition     = var.keep_weekly >= 0 && var.keep_weekly <= 10000 && floor(var.keep_weekly) == var.keep_weekly
    error_message = "keep_weekly must be a whole number from 0 (off) to 10000, for example 4."
  }
}

variable "keep_monthly" {
  description = "Tiered retention: also keep the newest own backup of each of the last n calendar months (UTC) that have one; `0` turns the tier off. Periods without a backup are skipped, not counted; while the tier has count left at the oldest backup, that one is kept too (restic's `--keep-monthly`). Any tier makes the monitor list every own backup once per run."
  type        = number
  default     = 0

  validation {
    condition     = var.keep_monthly >= 0 && var.keep_monthly <= 10000 && floor(var.keep_monthly) == var.keep_monthly
    error_message = "keep_monthly must be a whole number from 0 (off) to 10000, for example 4."
  }
}

variable "keep_yearly" {
  description = "Tiered retention: also keep the newest own backup of each of the last n calendar years (UTC) that have one; `0` turns the tier off. Periods without a backup are skipped, not counted; while the tier has count left at the oldest backup, that one is kept too (restic's `--keep-yearly`). Any tier makes the monitor list every own backup once per run."
  type        = number
  default     = 0

  validation {
    condition     = var.keep_yearly >= 0 && var.keep_yearly <= 10000 && floor(var.keep_yearly) == var.keep_yearly
    error_message = "keep_yearly must be a whole number from 0 (off) to 10000, for example 4."
  }
}

variable "retention_overrides" {
  description = "Per-table retention: table name => any of `retention_days`, `min_backups_to_keep`, `keep_daily`, `keep_weekly`, `keep_monthly`, `keep_yearly`; a missing key falls back to the module-wide variable. Every table must be in `table_names` unless `table_tags` selects (tagged tables are known only at run time). Maps whose JSON exceeds 2,000 characters ship inside the zip (`RETENTION_OVERRIDES_FILE`)."
  type = map(object({
    retention_days      = optional(number)
    min_backups_to_keep = optional(number)
    keep_daily          = optional(number)
    keep_weekly         = optional(number)
    keep_monthly        = optional(number)
    keep_yearly         = optional(number)
  }))
  default = {}

  validation {
    condition = alltrue(flatten([
      for table, o in var.retention_overrides : [
        can(regex("^[a-zA-Z0-9_.-]{3,255}$", table)),
        o.retention_days == null ? true : (o.retention_days >= 1 && o.retention_days <= 36500 && floor(o.retention_days) == o.retention_days),
        o.min_backups_to_keep == null ? true : (o.min_backups_to_keep >= 1 && o.min_backups_to_keep <= 10000 && floor(o.min_backups_to_keep) == o.min_backups_to_keep),
        [for v in [o.keep_daily, o.keep_weekly, o.keep_monthly, o.keep_yearly] : v == null ? true : (v >= 0 && v <= 10000 && floor(v) == v)],
      ]
    ]))
    error_message = "retention_overrides: table names must match [a-zA-Z0-9_.-]{3,255}; retention_days a whole number from 1 to 36500, min_backups_to_keep from 1 to 10000, keep_* from 0 to 10000 (for example { orders = { keep_monthly = 12 } })."
  }
}

variable "max_wait_minutes" {
  description = "A backup still CREATING this many minutes after its run started counts as failed (timed out)."
  type        = number
  default     = 360

  validation {
    condition     = var.max_wait_minutes >= 10 && var.max_wait_minutes <= 10080 && floor(var.max_wait_minutes) == var.max_wait_minutes
    error_message = "max_wait_minutes must be a whole number from 10 to 10080 (one week)."
  }
}

################################################################################
# Schedule
################################################################################

variable "schedule_rule_name" {
  description = "Name of the EventBridge rule (default event bus) that starts the scheduler; unique per account and region. `null` (default): `<name>-schedule`. Before this default the rule was `DynamoDBBackupScheduleRule`: set that name to keep an existing deployment's rule (see Upgrading in the README)."
  type        = string
  default     = null

  validation {
    condition     = var.schedule_rule_name == null || can(regex("^[a-zA-Z0-9_.-]{1,64}$", var.schedule_rule_name))
    error_message = "schedule_rule_name must be null (use <name>-schedule) or 1-64 characters of [a-zA-Z0-9_.-], for example \"DynamoDBBackupScheduleRule\"."
  }
}

variable "schedule_expression" {
  description = "When to back up: an EventBridge `rate(...)` or `cron(...)` expression (UTC). `rate(<n> <unit>)`: n >= 1, unit minute(s), hour(s) or day(s), singular for 1. `cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)`: minutes 0-59, hours 0-23, day-of-month 1-31 (also `?`, `L`, `W`), month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT (also `?`, `L`, `#`), year 1970-2199, with `,` `-` `*` `/`; exactly one of day-of-month and day-of-week is `?`. With `cron(...)`, set `alarm_dead_man_window_seconds`."
  type        = string
  default     = "rate(1 day)"

  validation {
    condition = (
      can(regex("^rate\\((1 (minute|hour|day)|[1-9][0-9]* (minutes|hours|days))\\)$", var.schedule_expression)) &&
      !can(regex("^rate\\(1 (minutes|hours|days)\\)$", var.schedule_expression))
      ) || (
      can(regex("^cron\\(\\S+( \\S+){5}\\)$", var.schedule_expression)) &&
      alltrue([
        for i, field in split(" ", trimsuffix(trimprefix(var.schedule_expression, "cron("), ")")) :
        can(regex([
          # minutes 0-59, hours 0-23: lists of *, n, n-m, each optionally /step
          "^(\\*|[0-5]?[0-9](-[0-5]?[0-9])?)(/[0-9]+)?(,(\\*|[0-5]?[0-9](-[0-5]?[0-9])?)(/[0-9]+)?)*$",
          "^(\\*|([01]?[0-9]|2[0-3])(-([01]?[0-9]|2[0-3]))?)(/[0-9]+)?(,(\\*|([01]?[0-9]|2[0-3])(-([01]?[0-9]|2[0-3]))?)(/[0-9]+)?)*$",
          # day-of-month 1-31: also ?, L, LW and nW (nearest weekday)
          "^(\\?|L|LW|([1-9]|[12][0-9]|3[01])W|((\\*|([1-9]|[12][0-9]|3[01])(-([1-9]|[12][0-9]|3[01]))?)(/[0-9]+)?(,(\\*|([1-9]|[12][0-9]|3[01])(-([1-9]|[12][0-9]|3[01]))?)(/[0-9]+)?)*))$",
          # month 1-12 or JAN-DEC
          "^(\\*|([1-9]|1[0-2]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)(-([1-9]|1[0-2]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC))?)(/[0-9]+)?(,(\\*|([1-9]|1[0-2]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)(-([1-9]|1[0-2]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC))?)(/[0-9]+)?)*$",
          # day-of-week 1-7 or SUN-SAT: also ?, L, nL (last weekday n) and n#k (k-th weekday n)
          "^(\\?|L|([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)(L|#[1-5])|(\\*|([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)(-([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT))?)(,(\\*|([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)(-([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT))?))*)$",
          # year 1970-2199
          "^(\\*|(19[7-9][0-9]|2[01][0-9][0-9])(-(19[7-9][0-9]|2[01][0-9][0-9]))?)(/[0-9]+)?(,(\\*|(19[7-9][0-9]|2[01][0-9][0-9])(-(19[7-9][0-9]|2[01][0-9][0-9]))?)(/[0-9]+)?)*$",
        ][i], field))
      ]) &&
      # exactly one of day-of-month and day-of-week is ?
      (try(split(" ", var.schedule_expression)[2], "") == "?") != (try(split(" ", var.schedule_expression)[4], "") == "?")
    )
    error_message = "schedule_expression must be an EventBridge expression, for example 'rate(1 day)', 'rate(12 hours)' (n >= 1, singular unit for 1) or 'cron(0 4 * * ? *)' (daily at 04:00 UTC; six fields: minutes 0-59, hours 0-23, day-of-month 1-31 or ? L W, month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT or ? L #, year 1970-2199; exactly one of day-of-month and day-of-week is '?', as in 'cron(30 2 ? * MON-FRI *)')."
  }
}

variable "schedule_enabled" {
  description = "Whether the trigger (the EventBridge rule, or the EventBridge Scheduler schedule with `schedule_timezone`) is enabled. Disabling it stops new backups and deletes nothing (the dead-man alarm then fires, as it should; see docs/runbook.md, \"Pause backups safely\")."
  type        = bool
  default     = true
}

################################################################################
# Lambda functions
################################################################################

variable "runtime" {
  description = "Python runtime of both functions."
  type        = string
  default     = "python3.13"

  validation {
    condition     = contains(["python3.11", "python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be one of python3.11, python3.12, python3.13 (the handlers are tested on 3.11 and 3.13)."
  }
}

variable "architecture" {
  description = "Instruction set of both functions."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "log_level" {
  description = "`LOG_LEVEL` of both functions (Python logging level name), and the level from which Lambda keeps their JSON log records (`logging_config.application_log_level`, in Lambda's names: WARNING is WARN, CRITICAL is FATAL). Lambda's own platform lines are kept from WARN up."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the functions' EMF metrics (and of the backup alarms)."
  type        = string
  default     = "DynamoDBBackup"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.#:/-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be 1-255 characters of [a-zA-Z0-9_.#:/-] and must not start with 'AWS/'."
  }
}

variable "cloudwatch_logs_retention_in_days" {
  description = "Retention of both functions' log groups, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.cloudwatch_logs_retention_in_days)
    error_message = "cloudwatch_logs_retention_in_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "role_permissions_boundary" {
  description = "ARN of a permissions boundary for both functions' roles."
  type        = string
  default     = null

  validation {
    condition     = var.role_permissions_boundary == null || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", var.role_permissions_boundary))
    error_message = "role_permissions_boundary must be an IAM policy ARN."
  }
}

variable "scheduler_timeout" {
  description = "Timeout of the scheduler, in seconds. It starts at most 48 backups per second, so 10,000 tables take about 210 s; 900 leaves room for throttling retries."
  type        = number
  default     = 900

  validation {
    condition     = var.scheduler_timeout >= 60 && var.scheduler_timeout <= 900
    error_message = "scheduler_timeout must be from 60 to 900 seconds."
  }
}

variable "scheduler_memory_size" {
  description = "Memory of the scheduler, in MB."
  type        = number
  default     = 256

  validation {
    condition     = var.scheduler_memory_size >= 128 && var.scheduler_memory_size <= 10240
    error_message = "scheduler_memory_size must be from 128 to 10240 MB."
  }
}

variable "scheduler_reserved_concurrent_executions" {
  description = "Reserved concurrency of the scheduler. Must be 1: Lambda may deliver a scheduled event twice, and two deliveries running at once would each miss the other's backups and create a second one per table; with one execution at a time the duplicate waits and finds the first's backups. Reserving it needs an account concurrency quota above 100 (Lambda keeps 100 unreserved): raise the quota in Service Quotas where it is lower."
  type        = number
  default     = 1

  validation {
    condition     = var.scheduler_reserved_concurrent_executions == 1
    error_message = "scheduler_reserved_concurrent_executions must be 1 (one scheduler run at a time, so a duplicate delivery of a scheduled event cannot create second backups). Remove the argument; where the account's Lambda concurrency quota is too low to reserve 1, raise it in Service Quotas."
  }
}

variable "scheduler_maximum_retry_attempts" {
  description = "How often Lambda retries a failed asynchronous scheduler invocation before the event goes to the scheduler's dead-letter queue (the scheduler is idempotent per slot)."
  type        = number
  default     = 2

  validation {
    condition     = var.scheduler_maximum_retry_attempts >= 0 && var.scheduler_maximum_retry_attempts <= 2
    error_message = "scheduler_maximum_retry_attempts must be 0, 1 or 2."
  }
}

variable "monitor_timeout" {
  description = "Timeout of the monitor, in seconds. It works within a time budget and re-enqueues what it could not finish; the queue's visibility timeout is 6x this value. The default 180 s lets the default queue retention (3660 s) hold three receives (300 + 3 x 1080 s) before a failing message moves to the dead-letter queue."
  type        = number
  default     = 180

  validation {
    condition     = var.monitor_timeout >= 30 && var.monitor_timeout <= 900
    error_message = "monitor_timeout must be from 30 to 900 seconds."
  }
}

variable "monitor_memory_size" {
  description = "Memory of the monitor, in MB."
  type        = number
  default     = 256

  validation {
    condition     = var.monitor_memory_size >= 128 && var.monitor_memory_size <= 10240
    error_message = "monitor_memory_size must be from 128 to 10240 MB."
  }
}

variable "monitor_batch_size" {
  description = "Messages per monitor invocation (SQS event source mapping batch size; FIFO allows at most 10)."
  type        = number
  default     = 10

  validation {
    condition     = var.monitor_batch_size >= 1 && var.monitor_batch_size <= 10 && floor(var.monitor_batch_size) == var.monitor_batch_size
    error_message = "monitor_batch_size must be a whole number from 1 to 10."
  }
}

variable "monitor_maximum_concurrency" {
  description = "Maximum concurrent monitor invocations the event source mapping starts (bounds the load on the DynamoDB control plane)."
  type        = number
  default     = 2

  validation {
    condition     = var.monitor_maximum_concurrency >= 2 && var.monitor_maximum_concurrency <= 1000
    error_message = "monitor_maximum_concurrency must be from 2 to 1000 (the event source mapping's limits)."
  }
}

################################################################################
# Monitoring queue
################################################################################

variable "queue_delay_seconds" {
  description = "Delay of the FIFO monitoring queue: how long a backup ARN waits before the monitor first checks it (and between checks)."
  type        = number
  default     = 300

  validation {
    condition     = var.queue_delay_seconds >= 0 && var.queue_delay_seconds <= 900
    error_message = "queue_delay_seconds must be from 0 to 900."
  }
}

variable "queue_message_retention_seconds" {
  description = "Retention of the monitoring queue's messages. Must exceed `queue_delay_seconds + queue_max_receive_count * visibility timeout` so a failing message always reaches the dead-letter queue before it could expire (checked at plan)."
  type        = number
  default     = 3660

  validation {
    condition     = var.queue_message_retention_seconds >= 60 && var.queue_message_retention_seconds <= 1209600
    error_message = "queue_message_retention_seconds must be from 60 to 1209600 (14 days)."
  }
}

variable "queue_visibility_timeout_seconds" {
  description = "Visibility timeout of the monitoring queue. `null`: 6x `monitor_timeout`. A smaller value than 6x `monitor_timeout` is refused at plan."
  type        = number
  default     = null

  validation {
    condition     = var.queue_visibility_timeout_seconds == null || try(var.queue_visibility_timeout_seconds >= 0 && var.queue_visibility_timeout_seconds <= 43200, false)
    error_message = "queue_visibility_timeout_seconds must be null or from 0 to 43200."
  }
}

variable "queue_max_receive_count" {
  description = "Receives before a message moves to the dead-letter queue. The default 3 is the largest that the default retention (3660 s) allows with the default visibility timeout (1080 s = 6x the monitor's 180 s); raise `queue_message_retention_seconds` to allow more, or lower `monitor_timeout`."
  type        = number
  default     = 3

  validation {
    condition     = var.queue_max_receive_count >= 1 && var.queue_max_receive_count <= 1000
    error_message = "queue_max_receive_count must be from 1 to 1000."
  }
}

variable "queue_dlq_message_retention_seconds" {
  description = "Retention of the dead-letter queues (monitoring queue's and scheduler's), long enough to inspect and redrive them."
  type        = number
  default     = 1209600

  validation {
    condition     = var.queue_dlq_message_retention_seconds >= 86400 && var.queue_dlq_message_retention_seconds <= 1209600
    error_message = "queue_dlq_message_retention_seconds must be from 86400 (1 day) to 1209600 (14 days)."
  }
}

variable "queue_tags" {
  description = "Additional tags of the queues."
  type        = map(string)
  default     = {}
}

################################################################################
# Alerts (SNS)
################################################################################

variable "create_sns_topic" {
  description = "Create the alert topic. `false`: publish to `sns_topic_arn`."
  type        = bool
  default     = true
}

variable "sns_topic_arn" {
  description = "ARN of an existing alert topic (used when `create_sns_topic = false`). If it is encrypted with a customer-managed key, pass that key as `kms_key_arn` too (the functions need it to publish)."
  type        = string
  default     = null

  validation {
    condition     = var.sns_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[a-zA-Z0-9_-]{1,256}$", var.sns_topic_arn))
    error_message = "sns_topic_arn must be an SNS topic ARN (standard topic)."
  }
}

variable "sns_topic_name" {
  description = "Name of the created alert topic. `null`: `<name>-alerts`."
  type        = string
  default     = null

  validation {
    condition     = var.sns_topic_name == null || can(regex("^[a-zA-Z0-9_-]{1,256}$", var.sns_topic_name))
    error_message = "sns_topic_name must be 1-256 characters of letters, digits, '-' and '_'."
  }
}

variable "create_sns_kms_key" {
  description = "When the module creates the topic, give it a key of its own (customer-managed, rotation on) whose policy lets CloudWatch alarms publish. `false`: the topic uses `kms_key_arn`, or, without one, the AWS-managed `alias/aws/sns` key, which CloudWatch alarms cannot use."
  type        = bool
  default     = true
}

variable "sns_subscription_emails" {
  description = "E-mail addresses subscribed to the alert topic (each must confirm the subscription)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.sns_subscription_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "Every entry of sns_subscription_emails must be an e-mail address."
  }
}

variable "sns_tags" {
  description = "Additional tags of the topic and its key."
  type        = map(string)
  default     = {}
}

################################################################################
# Alarms
################################################################################

variable "create_alarms" {
  description = "Create the CloudWatch alarms (each can also be turned off on its own)."
  type        = bool
  default     = true
}

variable "alarm_scheduler_errors_enabled" {
  description = "Alarm on errors of the scheduler function."
  type        = bool
  default     = true
}

variable "alarm_monitor_errors_enabled" {
  description = "Alarm on errors of the monitor function."
  type        = bool
  default     = true
}

variable "alarm_backups_failed_enabled" {
  description = "Alarm when any backup failed (`BackupsFailed` > 0, scheduler or monitor)."
  type        = bool
  default     = true
}

variable "alarm_dlq_enabled" {
  description = "Alarm when the monitoring queue's dead-letter queue holds messages."
  type        = bool
  default     = true
}

variable "alarm_scheduler_dlq_enabled" {
  description = "Alarm when the scheduler's dead-letter queue (failed scheduled invocations) holds messages."
  type        = bool
  default     = true
}

variable "alarm_dead_man_enabled" {
  description = "Alarm when no backup succeeded within the schedule's period plus `alarm_dead_man_margin_seconds`: the alarm leaves OK for INSUFFICIENT_DATA (missing data is `missing`) and notifies the topic. A fresh deploy starts in INSUFFICIENT_DATA and notifies nobody; the first success (at apply with `first_backup_at_apply`) turns it OK."
  type        = bool
  default     = true
}

variable "first_backup_at_apply" {
  description = "Run the scheduler once when the module is first applied (an `aws_lambda_invocation` with a scheduled event whose time is the apply's), so the first backups exist at once and their success arms the dead-man alarm within minutes. `false`: the alarm arms with the first scheduled success, and a schedule that never fires at all leaves it in INSUFFICIENT_DATA without a notification."
  type        = bool
  default     = true
}

variable "alarm_dead_man_window_seconds" {
  description = "Window of the dead-man alarm. `null`: the period of a `rate(...)` schedule plus `alarm_dead_man_margin_seconds`, rounded up to whole hours. Required with `cron(...)` schedules."
  type        = number
  default     = null

  validation {
    condition     = var.alarm_dead_man_window_seconds == null || try(var.alarm_dead_man_window_seconds >= 3600 && var.alarm_dead_man_window_seconds <= 604800, false)
    error_message = "alarm_dead_man_window_seconds must be null or from 3600 to 604800 (CloudWatch evaluates at most 7 days)."
  }
}

variable "alarm_dead_man_margin_seconds" {
  description = "Added to the schedule's period for the dead-man alarm's window: the time a run may take until its first backup is confirmed."
  type        = number
  default     = 7200

  validation {
    condition     = var.alarm_dead_man_margin_seconds >= 0 && var.alarm_dead_man_margin_seconds <= 86400
    error_message = "alarm_dead_man_margin_seconds must be from 0 to 86400."
  }
}

variable "alarm_period_seconds" {
  description = "Period of the error, failed-backup and dead-letter alarms."
  type        = number
  default     = 300

  validation {
    condition     = var.alarm_period_seconds >= 60 && var.alarm_period_seconds <= 86400 && var.alarm_period_seconds % 60 == 0
    error_message = "alarm_period_seconds must be a multiple of 60 from 60 to 86400."
  }
}

variable "alarm_tags" {
  description = "Additional tags of the alarms."
  type        = map(string)
  default     = {}
}

variable "alarm_ok_notifications" {
  description = "Also notify the topic when an alarm returns to OK."
  type        = bool
  default     = false
}

################################################################################
# Operations: time zone, dashboard, runbook
################################################################################

variable "schedule_timezone" {
  description = "IANA time zone of `schedule_expression` (for example `Europe/Berlin`; a cron schedule then follows daylight saving time). `null`: UTC, with an EventBridge rule. A zone: an EventBridge Scheduler schedule (default group, named `schedule_rule_name`, with its own role, retry policy and the scheduler's dead-letter queue) replaces the rule; exactly one of them exists."
  type        = string
  default     = null

  validation {
    condition     = var.schedule_timezone == null || can(regex("^(UTC|GMT|[A-Z][A-Za-z_-]+(/[A-Za-z0-9_+-]+){1,2})$", var.schedule_timezone))
    error_message = "schedule_timezone must be null (UTC) or an IANA time zone name such as \"Europe/Berlin\", \"America/New_York\" or \"UTC\"."
  }
}

variable "create_dashboard" {
  description = "Create a CloudWatch dashboard named `<name>-<region>` (dashboards are account-wide): the alarms, backups succeeded/failed/pending/deleted, unprotected tables, backup storage, both functions' errors and durations, the monitoring queue's oldest message and both dead-letter queues."
  type        = bool
  default     = true
}

variable "runbook_url" {
  description = "Address of the runbook; each alarm's description links to its section (`<runbook_url>#<anchor>`). Point it at your copy of `docs/runbook.md` (an internal wiki or a fork) if operators cannot reach the default."
  type        = string
  default     = "https://github.com/example-org/terraform-aws-dynamodb-backup/blob/main/docs/runbook.md"

  validation {
    condition     = can(regex("^https?://[^#\\s]+$", var.runbook_url))
    error_message = "runbook_url must be an http(s) address without a #fragment, such as \"https://github.com/example-org/terraform-aws-dynamodb-backup/blob/main/docs/runbook.md\"."
  }
}

################################################################################
# Coverage
################################################################################

variable "unprotected_tables_exclude" {
  description = "Shell-style patterns (`fnmatch`: `*`, `?`, `[...]`; case-sensitive) of table names that need no backup. Each run counts the account's tables in the region that no selection covers and no pattern excuses (`TablesUnprotected`). Example: `[\"tmp-*\", \"*-scratch\"]`."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.unprotected_tables_exclude : can(regex("^[a-zA-Z0-9_.*?!\\[\\]-]{1,255}$", p))])
    error_message = "Every entry of unprotected_tables_exclude must be a pattern of 1-255 characters of table names ([a-zA-Z0-9_.-]) and the wildcards * ? [ ] !, for example [\"tmp-*\", \"*-scratch\"]."
  }

  validation {
    condition     = length(jsonencode(var.unprotected_tables_exclude)) <= 400
    error_message = "unprotected_tables_exclude must encode to at most 400 characters of JSON (it travels in the Lambda environment, limited to 4 KB): use fewer, broader patterns such as [\"tmp-*\"]."
  }
}

variable "alert_unprotected_tables" {
  description = "Each run also publishes one alert naming the tables that nothing selects and no `unprotected_tables_exclude` pattern excuses (and an alert when the tables cannot be listed). `false`: only the `TablesUnprotected` metric."
  type        = bool
  default     = false
}

variable "alarm_unprotected_tables_enabled" {
  description = "Alarm when the latest run counted unprotected tables (`TablesUnprotected` > 0). The alarm keeps its state between runs; it returns to OK once a run counts none."
  type        = bool
  default     = false
}
