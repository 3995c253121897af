"""notices: the parcel-events subscriber that tells the customer a parcel was delivered (Delivered events only)."""
