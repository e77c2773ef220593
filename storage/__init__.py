"""Persistence: Tortoise ORM models, database set-up, queries and migrations."""
