terraform {
  # Terraform >= 1.5 and OpenTofu >= 1.6 both read this module: it uses no feature newer
  # than Terraform 1.5 (no cross-variable validation, no provider-defined functions).
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # logging_config (aws_lambda_function) and state (aws_cloudwatch_event_rule) exist
      # in every release of this range; nothing removed in 6.0 is used.
      version = ">= 5.70.0, < 7.0.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4.0"
    }
  }
}
