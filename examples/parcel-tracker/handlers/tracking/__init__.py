"""tracking: the parcel-events subscriber that keeps each parcel's latest status."""
