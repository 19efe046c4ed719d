################################################################################
# Deletion guard: a policy an organisation attaches outside this module
################################################################################

# Denies dynamodb:DeleteBackup on the selected tables' backups to every principal but
# this instance's monitor role (the only one that should delete them: retention). Meant
# as a service control policy or a permissions boundary; see the README.
locals {
  # Exactly the resources the monitor's own policy lets it delete (modules/iam-policies):
  # table/<name>/backup/* per selected table, name-prefix patterns for lists too long for
  # one policy, table/*/backup/* with tag selection (decided at run time).
  guard_backup_arns = distinct(flatten([
    for s in jsondecode(module.iam_policies.monitor_policy_json).Statement : s.Resource
    if contains(flatten([s.Action]), "dynamodb:DeleteBackup")
  ]))

  deletion_guard_policy_json = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "OnlyTheBackupMonitorDeletesBackups"
      Effect   = "Deny"
      Action   = "dynamodb:DeleteBackup"
      Resource = local.guard_backup_arns
      Condition = {
        ArnNotLike = { "aws:PrincipalArn" = [aws_iam_role.this["monitor"].arn] }
      }
    }]
  })
}
