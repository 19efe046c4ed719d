"""Monitor, delete messages: delete the backups retention gave up, within the time budget
and DeleteBackup's pace; failures alerted, the rest re-enqueued when time runs low."""

from __future__ import annotations

import logging
from dataclasses import replace

from botocore.exceptions import ClientError

from dynamodb_backup.aws import call_with_retries, error_code, error_message
from dynamodb_backup.context import Context
from dynamodb_backup.logs import log_event
from dynamodb_backup.messages import DeleteMessage, outgoing
from dynamodb_backup.model import Failure
from dynamodb_backup.naming import iso

LOG = logging.getLogger("dynamodb_backup.monitor")


def handle_delete(ctx: Context, message: DeleteMessage) -> None:
    failures: list[Failure] = []
    dynamodb = ctx.clients.dynamodb
    rest: DeleteMessage | None = None
    for index, ref in enumerate(message.backups):
        if ctx.budget.low():
            rest = replace(message, attempt=message.attempt + 1, backups=message.backups[index:])
            break

        def delete(arn: str = ref.arn) -> object:
            ctx.delete_limiter.acquire()
            return dynamodb.delete_backup(BackupArn=arn)

        try:
            call_with_retries(delete, sleep=ctx.sleep, rand=ctx.rand)
        except ClientError as exc:
            if error_code(exc) == "BackupNotFoundException":
                log_event(LOG, logging.INFO, "backup already gone", table=ref.table, arn=ref.arn)
                continue
            reason = f"could not delete backup: {error_code(exc)}: {error_message(exc)}"
            failures.append(Failure(ref.table, ref.arn, reason))
            ctx.counters.failed += 1
            log_event(
                LOG,
                logging.ERROR,
                "backup not deleted",
                table=ref.table,
                arn=ref.arn,
                reason=reason,
            )
            continue
        ctx.counters.deleted += 1
        log_event(LOG, logging.INFO, "backup deleted", table=ref.table, arn=ref.arn)
    # alert before re-enqueueing the rest (same group): see handle_chunk
    ctx.alert(iso(message.slot), failures)
    if rest is not None:
        ctx.send([outgoing(rest)])
        log_event(
            LOG,
            logging.WARNING,
            "time budget low; deletions re-enqueued",
            count=len(rest.backups),
        )
