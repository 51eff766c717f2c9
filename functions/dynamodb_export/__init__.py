"""DynamoDB export converter Lambda: a finished table export (DYNAMODB_JSON) to LOAD files and its marker."""
