"""Work claims for jobs (the implementation lives in app/services/leases.py, because
"Refresh now" in a web request takes the same per-connection lease as the jobs)."""
from app.services.leases import INSTANCE_ID, acquire_lease, lock_rows, release_lease

__all__ = ["INSTANCE_ID", "acquire_lease", "lock_rows", "release_lease"]
