"""Running the service: backups and restores, logs, metrics."""
