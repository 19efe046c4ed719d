"""Scheduled DynamoDB backups: the scheduler and monitor Lambda handlers."""
