################################################################################
# Trigger in a time zone: an EventBridge Scheduler schedule instead of the rule
################################################################################

# Exactly one trigger exists: the EventBridge rule (main.tf) when schedule_timezone is
# null, this schedule when it names a zone.
locals {
  schedule_with_scheduler = var.schedule_timezone != null

  # ARN and name of whichever trigger exists.
  schedule_trigger_arn  = local.schedule_with_scheduler ? aws_scheduler_schedule.schedule[0].arn : aws_cloudwatch_event_rule.schedule[0].arn
  schedule_trigger_name = local.schedule_with_scheduler ? aws_scheduler_schedule.schedule[0].name : aws_cloudwatch_event_rule.schedule[0].name

  # IAM is global: the region keeps two regions' instances of one name apart.
  schedule_role_name = "${var.name}-schedule-${local.region}"

  # A Scheduler target receives only this input, not an EventBridge event. The handler
  # reads `time` as the schedule slot (idempotency per slot); EventBridge Scheduler
  # replaces the <aws.scheduler.*> keywords at each invocation. The other fields give
  # the event the shape of an EventBridge "Scheduled Event" (account and region are left
  # out: the handler reads neither).
  # Literal JSON, not jsonencode: jsonencode writes "<" and ">" as \u003c and \u003e, and
  # Scheduler would then not find its keywords (the handler would get no slot).
  schedule_input = "{\"version\":\"0\",\"id\":\"<aws.scheduler.execution-id>\",\"detail-type\":\"Scheduled Event\",\"source\":\"aws.scheduler\",\"time\":\"<aws.scheduler.scheduled-time>\",\"resources\":[\"<aws.scheduler.schedule-arn>\"],\"detail\":{}}"
}

resource "aws_scheduler_schedule" "schedule" {
  #checkov:skip=CKV_AWS_297:The schedule holds no secret (its input is the fixed event with the slot placeholders); EventBridge Scheduler encrypts it with an AWS-owned key.
  count = local.schedule_with_scheduler ? 1 : 0

  name                         = local.schedule_rule_name
  description                  = "Starts the DynamoDB backup scheduler ${local.scheduler_function_name}."
  schedule_expression          = var.schedule_expression
  schedule_expression_timezone = var.schedule_timezone
  state                        = var.schedule_enabled ? "ENABLED" : "DISABLED"

  # On the slot, not somewhere in a window: the slot names the backups.
  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.this["scheduler"].arn
    role_arn = aws_iam_role.schedule[0].arn
    input    = local.schedule_input

    # Invocations Scheduler could not deliver (after its retries) are kept, not dropped.
    dead_letter_config {
      arn = aws_sqs_queue.scheduler_dlq.arn
    }

    retry_policy {
      maximum_event_age_in_seconds = 86400
      maximum_retry_attempts       = 185
    }
  }
}

# EventBridge Scheduler invokes the target and delivers dead letters with this role (no
# resource policy on the function or the queue).
resource "aws_iam_role" "schedule" {
  count = local.schedule_with_scheduler ? 1 : 0

  name        = local.schedule_role_name
  description = "Lets EventBridge Scheduler start the DynamoDB backup scheduler ${local.scheduler_function_name}."
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "scheduler.amazonaws.com" }
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
  permissions_boundary = var.role_permissions_boundary

  tags = merge(var.tags, var.iam_role_tags)
}

resource "aws_iam_role_policy" "schedule" {
  count = local.schedule_with_scheduler ? 1 : 0

  name   = local.schedule_role_name
  role   = aws_iam_role.schedule[0].id
  policy = local.schedule_policy_json
}

locals {
  schedule_policy_json = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "InvokeTheScheduler"
          Effect   = "Allow"
          Action   = "lambda:InvokeFunction"
          Resource = [aws_lambda_function.this["scheduler"].arn]
        },
        {
          Sid      = "DeadLetters"
          Effect   = "Allow"
          Action   = "sqs:SendMessage"
          Resource = [aws_sqs_queue.scheduler_dlq.arn]
        },
      ],
      # The dead-letter queue is encrypted with the customer key when one is given.
      var.kms_key_arn == null ? [] : [{
        Sid      = "DeadLetterQueueKey"
        Effect   = "Allow"
        Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource = [var.kms_key_arn]
      }],
    )
  })
}
