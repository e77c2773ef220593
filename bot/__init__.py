"""Logoff's platform-neutral core: rules, commands, engine, scheduler and CLI."""
