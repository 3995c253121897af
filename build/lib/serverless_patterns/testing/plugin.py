"""The pytest plugin the library registers (entry point ``pytest11``): fixtures for users' own stacks."""
