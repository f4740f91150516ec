"""Notifier: judge a finished Run Command against its Auto Scaling group and tell Slack."""
