"""Tracking service: an MLflow server on PostgreSQL with S3 artifacts, proxied through the server."""
