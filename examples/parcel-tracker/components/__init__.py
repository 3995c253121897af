"""The parcel tracker's own building helpers, a package of the project beside the library (``serverless_patterns``)."""
