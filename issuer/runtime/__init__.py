"""Controller runtime: workers draining the workqueue, results mapped to requeues, the manager."""
