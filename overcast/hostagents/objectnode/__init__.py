"""The object node: one process per disk that stores object replicas for the S3 front."""
