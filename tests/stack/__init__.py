"""Tests of template.yaml and samconfig.toml: what `sam deploy` would create, checked offline."""
