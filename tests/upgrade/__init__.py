"""Upgrade tests: old schemas migrate to the current one with data intact."""
