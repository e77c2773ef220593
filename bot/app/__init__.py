"""Composition root and process shell: config, CLI, serving, sandbox and simulation."""
