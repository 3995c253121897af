"""The serverless-patterns policy pack: ``pulumi preview --policy-pack policy``.

Importing this file builds the policies without serving them; the Pulumi CLI runs it as ``__main__``, which starts
the pack.
"""

from __future__ import annotations

from serverless_guard.pack import PACK_NAME, policies, serve

__all__ = ["PACK_NAME", "POLICIES"]

POLICIES = policies()

if __name__ == "__main__":
    serve()
