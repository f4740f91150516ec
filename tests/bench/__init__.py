"""The benchmark's exit status."""
