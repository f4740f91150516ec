"""Notifier: judge a finished Run Command against its Auto Scaling group and tell Slack."""

import warnings

# The deployed artifact leaves out charset_normalizer (src/notifier/Makefile): requests then
# falls back to UTF-8, which is what Slack answers in, but warns at import about the missing
# detector on every cold start. The warning says nothing an operator could act on.
warnings.filterwarnings(
    "ignore", message="Unable to find acceptable character detection dependency"
)
