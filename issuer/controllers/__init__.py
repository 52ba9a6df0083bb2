"""Reconcilers: issuer health and CertificateRequest signing, each a pure decision plus thin I/O."""
