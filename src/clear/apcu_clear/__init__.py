"""What both functions know of a clear, so that each shape is defined once: the clear's record
(record), the group's claim (claim), the command the fleet runs and how it is sent (command),
the stop alarm (alarm), which agents can take a command (agents), the launch lifecycle hook
(lifecycle), the refusals a caller can act on (errors), the AWS calls' shared settings (aws)
and Slack app mode's settings (slack_app). Both artifacts ship this package (src/*/Makefile)."""
