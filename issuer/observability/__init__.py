"""Metrics, the health/ready/metrics HTTP server and structured logging.

Importable from anywhere."""
