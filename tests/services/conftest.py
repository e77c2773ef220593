"""Make the service fixtures available to the harness's own tests."""

from tests.conftest_services import postgres_server, postgres_url, synapse_server  # noqa: F401
