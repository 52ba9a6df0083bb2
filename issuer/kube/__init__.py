"""Kubernetes I/O: async client, informers (list+watch), workqueue, leader election, events.

The only package that imports kubernetes_asyncio."""
