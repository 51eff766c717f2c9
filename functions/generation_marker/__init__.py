"""Generation-marker writer Lambda (scheduled): DMS table statistics to raw-history markers."""
