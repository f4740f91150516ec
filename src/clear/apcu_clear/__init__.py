"""The mechanics of a clear, shared by both functions because both now send commands: the
claim that makes it one per group (claim), the command record and the verdict it came to
(item, store), the watchdog's schedule (schedule), the stop alarm (alarm), the launch
lifecycle hook (lifecycle), what a clear retries and how far it has come (converge), and
`timing.worst_call`, which sizes both functions' time budgets. Both functions ship this
package (copied in by their Makefiles), so each shape is defined here and nowhere else."""
