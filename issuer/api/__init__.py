"""Typed views of our CRDs and of cert-manager's CertificateRequest, and conditions.

Pure functions over raw JSON dicts (never kubernetes-asyncio model classes)."""
