terraform {
  # Terraform >= 1.5 and OpenTofu >= 1.6 both read this module: it uses no feature newer
  # than Terraform 1.5 (no cross-variable validation, no provider-defined functions).
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.76.0 is the first release whose runtime validation accepts python3.13, the default
      # runtime (5.75.1 rejects it: hashicorp/terraform-provider-aws issue 40107; CHANGELOG
      # 5.76.0). logging_config (aws_lambda_function) and state (aws_cloudwatch_event_rule)
      # exist in every release of this range; nothing removed in 6.0 is used.
      version = ">= 5.76.0, < 7.0.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4.0"
    }
  }
}
