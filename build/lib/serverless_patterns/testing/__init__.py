"""Test helpers for projects that use the library: Pulumi mocks with realistic outputs and the local cloud."""
