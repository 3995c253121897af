"""The orders app's local-cloud scenarios: the demo, the chaos run and the fault campaign they share."""
