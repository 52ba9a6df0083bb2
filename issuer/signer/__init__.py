"""AWS side: credentials, PCA calls in a bounded thread pool, templates, PEM chains, rate limits.

Never imports issuer.kube: it is handed plain values."""
