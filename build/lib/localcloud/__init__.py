"""The local cloud: the stack evaluated and run on a laptop, with no AWS account, no Docker and no network."""
