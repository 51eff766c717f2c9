"""CloudBridge command-line tools: offline plan, metadata, local sandbox."""
