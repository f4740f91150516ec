"""apcu-flush: clear APCu on an Auto Scaling group through the apcu-fleet-flush API."""

__version__ = "1.1.0"
