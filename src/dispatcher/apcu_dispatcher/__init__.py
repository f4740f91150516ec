"""Clear APCu on every server of an Auto Scaling group through one fixed SSM document."""
