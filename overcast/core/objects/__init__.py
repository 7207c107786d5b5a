"""Object storage: ring, replica placement, the replication client and S3 object metadata."""
