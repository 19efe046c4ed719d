locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.id
  account_id = data.aws_caller_identity.current.account_id

  ##############################################################################
  # Lambda's log filter follows log_level (Lambda's names: TRACE DEBUG INFO WARN ERROR
  # FATAL); the platform's own lines (START, END, REPORT, errors) from WARN up.
  ##############################################################################

  lambda_application_log_levels = {
    DEBUG    = "DEBUG"
    INFO     = "INFO"
    WARNING  = "WARN"
    ERROR    = "ERROR"
    CRITICAL = "FATAL"
  }
  lambda_system_log_level = "WARN"

  # Function names by key of local.functions (main.tf): "<name>-<function>".
  function_names          = { for f in concat(["scheduler", "monitor"], var.restore_drill.enabled ? ["drill"] : []) : f => "${var.name}-${f}" }
  scheduler_function_name = local.function_names["scheduler"]
  monitor_function_name   = local.function_names["monitor"]

  ##############################################################################
  # Instances never interfere: everything is named after var.name
  ##############################################################################

  # Backups, metrics and the backup alarms' dimension: <name> unless set.
  backup_name_prefix = coalesce(var.backup_name_prefix, var.name)
  schedule_rule_name = coalesce(var.schedule_rule_name, "${var.name}-schedule")

  # IAM is global per account: the same instance in two regions of one account needs two
  # role names, so the region is part of them. "<name>-<function>-<region>" is at most
  # 40 + 10 + 15 characters; past IAM's 64 it is cut to 55 and a hash of the full name
  # keeps it unique.
  role_names = {
    for f in keys(local.function_names) : f => (
      length("${var.name}-${f}-${local.region}") <= 64
      ? "${var.name}-${f}-${local.region}"
      : "${substr("${var.name}-${f}-${local.region}", 0, 55)}-${substr(sha1("${var.name}-${f}-${local.region}"), 0, 8)}"
    )
  }

  ##############################################################################
  # Table list: in the environment while small, else a file inside the zip
  ##############################################################################

  table_names_json = jsonencode(var.table_names)
  # Lambda's environment is limited to 4 KB (keys and values). 2,000 characters of
  # table names leave room for the queue URL, topic ARN, tags and the rest.
  table_names_env_max_chars = 2000
  table_names_in_file       = length(local.table_names_json) > local.table_names_env_max_chars
  table_names_file          = "dynamodb_backup_tables.json"

  # Per-table retention overrides travel the same way (the monitor's environment): unset
  # keys are dropped so the handler falls back to the module-wide values.
  retention_overrides_json = jsonencode({
    for table, o in var.retention_overrides : table => { for k, v in o : k => v if v != null }
  })
  retention_overrides_in_file = length(local.retention_overrides_json) > local.table_names_env_max_chars
  retention_overrides_file    = "dynamodb_backup_retention_overrides.json"

  ##############################################################################
  # Lambda package: dynamodb_backup/**/*.py only (no tests, caches or bytecode)
  ##############################################################################

  lambda_source_files = sort([
    for f in fileset("${path.module}/lambda", "dynamodb_backup/**/*.py") : f
    if !can(regex("(^|/)(__pycache__/|test_[^/]*\\.py$|[^/]*_test\\.py$|conftest\\.py$)", f))
  ])

  lambda_zip_sources = merge(
    { for f in local.lambda_source_files : f => file("${path.module}/lambda/${f}") },
    local.table_names_in_file ? { (local.table_names_file) = local.table_names_json } : {},
    local.retention_overrides_in_file ? { (local.retention_overrides_file) = local.retention_overrides_json } : {},
  )

  ##############################################################################
  # Encryption
  ##############################################################################

  # Counts depend on booleans only, never on whether kms_key_arn is null: a key created in
  # the same apply is unknown at plan, and count cannot wait for it.
  create_sns_kms_key = var.create_sns_topic && var.create_sns_kms_key

  sns_kms_master_key_id = (
    local.create_sns_kms_key ? aws_kms_key.sns[0].arn :
    var.kms_key_arn != null ? var.kms_key_arn : "alias/aws/sns"
  )

  # Keys the functions must be allowed to use: the customer key (queues, topic) and the
  # module's topic key. Built with concat so its length is known at plan.
  kms_key_arns = concat(
    var.kms_key_arn == null ? [] : [var.kms_key_arn],
    local.create_sns_kms_key ? [aws_kms_key.sns[0].arn] : [],
  )

  sns_topic_arn = var.create_sns_topic ? aws_sns_topic.this[0].arn : var.sns_topic_arn

  ##############################################################################
  # Monitoring queue timing
  ##############################################################################

  queue_visibility_timeout_seconds = coalesce(var.queue_visibility_timeout_seconds, 6 * var.monitor_timeout)

  ##############################################################################
  # Dead-man alarm window: the schedule's period plus a margin, in whole hours
  ##############################################################################

  rate_match = try(regex("^rate\\(([0-9]+) (minute|minutes|hour|hours|day|days)\\)$", var.schedule_expression), null)
  rate_unit_seconds = {
    minute = 60, minutes = 60, hour = 3600, hours = 3600, day = 86400, days = 86400
  }
  schedule_period_seconds = local.rate_match == null ? null : tonumber(local.rate_match[0]) * local.rate_unit_seconds[local.rate_match[1]]

  dead_man_window_seconds = (
    var.alarm_dead_man_window_seconds != null ? var.alarm_dead_man_window_seconds :
    local.schedule_period_seconds == null ? null : local.schedule_period_seconds + var.alarm_dead_man_margin_seconds
  )
  dead_man_evaluation_periods = local.dead_man_window_seconds == null ? null : ceil(local.dead_man_window_seconds / 3600)
}
