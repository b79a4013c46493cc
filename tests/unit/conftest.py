import pytest


@pytest.fixture(autouse=True)
def _no_network(requests_mock):
    """Any HTTP call a test did not register fails (requests_mock.NoMockAddress)."""
    yield requests_mock
