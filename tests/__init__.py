"""Test suites and the harness that runs real upstream components for them."""
