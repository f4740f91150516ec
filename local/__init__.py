"""`make demo`: the whole flow on one machine, both functions in this process, the clear as a real
durable execution in AWS's in-process runner, moto as AWS, the Slack stand-in as Slack."""
