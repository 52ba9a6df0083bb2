"""A local ACM PCA + STS emulator for development, tests, benchmarks and the demo.

It imports nothing of the controller, and the controller never imports it."""
