"""Performance runs with their baselines side by side (python -m benchmarks)."""
