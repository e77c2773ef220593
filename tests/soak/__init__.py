"""Crash soaks of the real bot process."""
