"""The expire-orders scheduled job."""
