"""Validator Lambda: checks each DMS parquet file and routes it to raw-history or fail."""
