"""reports: the scheduled job that reports parcels with no news for too long."""
