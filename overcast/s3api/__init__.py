"""S3 handlers (the S3 issue fills the table)."""
