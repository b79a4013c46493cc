import pytest


@pytest.fixture(autouse=True)
def _no_network(requests_mock):
    """As in integration/: any HTTP call a test did not register fails."""
    yield requests_mock
