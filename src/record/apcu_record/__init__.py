"""The command record: one DynamoDB item per command the dispatcher sent, and the verdict it
came to. Both functions ship this package (copied in by their Makefiles), so the item's shape
is defined here and nowhere else; so is `timing.worst_call`, which sizes both functions' time
budgets."""
