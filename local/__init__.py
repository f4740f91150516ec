"""The whole flow on one machine: moto as AWS, a local Slack receiver, the real handlers."""
