"""CloudFormation handlers (none yet: every operation answers NotImplemented)."""
