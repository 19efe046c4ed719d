################################################################################
# Runbook links of the alarms (docs/runbook.md)
################################################################################

# Section anchors of docs/runbook.md (GitHub's rules: lower case, punctuation dropped,
# spaces to hyphens), keyed like outputs.alarm_arns. A test checks each exists.
locals {
  runbook_anchors = {
    scheduler_errors           = "alarm-scheduler-function-errors"
    monitor_errors             = "alarm-monitor-function-errors"
    backups_failed             = "alarm-backups-failed"
    monitor_dlq_not_empty      = "alarm-monitor-dead-letter-queue-not-empty"
    scheduler_dlq_not_empty    = "alarm-scheduler-dead-letter-queue-not-empty"
    no_backup_succeeded        = "alarm-no-backup-succeeded-dead-man"
    tables_unprotected         = "alarm-tables-unprotected"
    drill_errors               = "alarm-drill-function-errors"
    drill_dlq_not_empty        = "alarm-drill-dead-letter-queue-not-empty"
    restore_drill_failed       = "alarm-restore-drill-failed"
    no_restore_drill_succeeded = "alarm-no-restore-drill-succeeded"
  }
}
