"""What both functions know of a clear, each shape defined once: its record, claim, command,
stop alarm, agents, lifecycle hook, settings and AWS calls. Both artifacts ship it."""
