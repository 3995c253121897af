"""audit: order events, recorded."""
