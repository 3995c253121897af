"""The small shared runtime every example handler builds on; it ships in every Lambda archive.

Import what a handler needs from its submodule (``handler_runtime.batch``, ``.observability``, ``.validation``,
``.idempotency``, ``.errors``): importing this package alone loads nothing heavy, so a handler that does not
need idempotency or tracing does not pay their cold-start cost.
"""
