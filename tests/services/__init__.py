"""Harnesses that start real PostgreSQL and Synapse servers for tests."""
