################################################################################
# Monitoring queue (FIFO) and its dead-letter queue
################################################################################

resource "aws_sqs_queue" "monitor" {
  name                        = "${var.name}-monitor.fifo"
  fifo_queue                  = true
  content_based_deduplication = true
  deduplication_scope         = "messageGroup"
  fifo_throughput_limit       = "perMessageGroupId"
  delay_seconds               = var.queue_delay_seconds
  message_retention_seconds   = var.queue_message_retention_seconds
  visibility_timeout_seconds  = local.queue_visibility_timeout_seconds

  sqs_managed_sse_enabled           = var.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_key_arn == null ? null : 300

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.monitor_dlq.arn
    maxReceiveCount     = var.queue_max_receive_count
  })

  tags = merge(var.tags, var.queue_tags)

  lifecycle {
    precondition {
      condition     = local.queue_visibility_timeout_seconds >= 6 * var.monitor_timeout
      error_message = "queue_visibility_timeout_seconds must be at least 6x monitor_timeout."
    }
    precondition {
      condition     = var.queue_message_retention_seconds > var.queue_delay_seconds + var.queue_max_receive_count * local.queue_visibility_timeout_seconds
      error_message = "queue_message_retention_seconds must exceed queue_delay_seconds + queue_max_receive_count * visibility timeout, or a failing message could expire before it reaches the dead-letter queue: set queue_message_retention_seconds = ${var.queue_delay_seconds + var.queue_max_receive_count * local.queue_visibility_timeout_seconds + 1} (${var.queue_delay_seconds} + ${var.queue_max_receive_count} x ${local.queue_visibility_timeout_seconds} + 1), or lower queue_max_receive_count or monitor_timeout."
    }
  }
}

resource "aws_sqs_queue" "monitor_dlq" {
  name                        = "${var.name}-monitor-dlq.fifo"
  fifo_queue                  = true
  content_based_deduplication = true
  message_retention_seconds   = var.queue_dlq_message_retention_seconds

  sqs_managed_sse_enabled           = var.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_key_arn == null ? null : 300

  tags = merge(var.tags, var.queue_tags)
}

################################################################################
# Scheduler's dead-letter queue: failed async invocations and undeliverable events
################################################################################

resource "aws_sqs_queue" "scheduler_dlq" {
  name                      = "${var.name}-scheduler-dlq"
  message_retention_seconds = var.queue_dlq_message_retention_seconds

  sqs_managed_sse_enabled           = var.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_key_arn == null ? null : 300

  tags = merge(var.tags, var.queue_tags)
}

# EventBridge needs a queue policy to deliver events it could not send to the
# scheduler; Lambda's own dead-letter delivery uses the function's role instead, and so
# does EventBridge Scheduler (the schedule's role, schedule_timezone set).
resource "aws_sqs_queue_policy" "scheduler_dlq" {
  count = local.schedule_with_scheduler ? 0 : 1

  queue_url = aws_sqs_queue.scheduler_dlq.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "ScheduleRuleDeadLetters"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.scheduler_dlq.arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.schedule[0].arn } }
    }]
  })
}

moved {
  from = aws_sqs_queue_policy.scheduler_dlq
  to   = aws_sqs_queue_policy.scheduler_dlq[0]
}

################################################################################
# Queue -> monitor
################################################################################

resource "aws_lambda_event_source_mapping" "monitor" {
  event_source_arn        = aws_sqs_queue.monitor.arn
  function_name           = aws_lambda_function.this["monitor"].arn
  batch_size              = var.monitor_batch_size
  function_response_types = ["ReportBatchItemFailures"]
  enabled                 = true

  scaling_config {
    maximum_concurrency = var.monitor_maximum_concurrency
  }

  depends_on = [aws_iam_role_policy.this]
}
