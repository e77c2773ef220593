"""Load the service fixtures for these tests unless the root conftest already did."""

import pytest

PLUGIN = "tests.conftest_services"


def pytest_configure(config: pytest.Config) -> None:
    """Register the fixtures plugin once (a re-export here would duplicate the servers)."""
    if not config.pluginmanager.has_plugin(PLUGIN):
        config.pluginmanager.import_plugin(PLUGIN)
