"""Slack notifier Lambda: SNS alerts to a Slack incoming webhook."""
