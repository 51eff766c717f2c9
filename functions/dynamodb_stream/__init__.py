"""DynamoDB stream converter Lambda: a Streams batch (event source mapping) to one landing parquet file."""
