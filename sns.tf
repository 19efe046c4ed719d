################################################################################
# Alert topic
################################################################################

resource "aws_sns_topic" "this" {
  count = var.create_sns_topic ? 1 : 0

  name              = coalesce(var.sns_topic_name, "${var.name}-alerts")
  kms_master_key_id = local.sns_kms_master_key_id

  tags = merge(var.tags, var.sns_tags)
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.sns_subscription_emails)

  topic_arn = local.sns_topic_arn
  protocol  = "email"
  endpoint  = each.value
}

# CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS key,
# so the module's own topic gets a customer-managed key that allows them.
resource "aws_kms_key" "sns" {
  count = local.create_sns_kms_key ? 1 : 0

  description             = "Encrypts the DynamoDB backup alert topic of ${var.name}."
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
        # Exactly the statement AWS documents for CloudWatch alarms publishing to an
        # encrypted topic (Amazon SNS Developer Guide, "Managing Amazon SNS encryption keys",
        # section "Enable compatibility between event sources from AWS services and
        # encrypted topics": principal cloudwatch.amazonaws.com, kms:GenerateDataKey* and
        # kms:Decrypt, Resource "*", no condition). No AWS document shows CloudWatch
        # sending aws:SourceAccount or aws:SourceArn on these KMS calls; a condition on a
        # key it does not send would deny every alarm notification, visible only in the
        # alarm's history.
        Sid       = "CloudWatchAlarmsPublish"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
      },
    ]
  })

  tags = merge(var.tags, var.sns_tags)
}
