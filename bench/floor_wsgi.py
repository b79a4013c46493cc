"""The bare-Flask floor for bench/run.py, served by the same gunicorn.conf.py as the app:
one page rendering FLOOR_BYTES of HTML rows through Jinja, no database, no sign-in."""
import os

from dashboard import floor_app

app = floor_app(int(os.environ.get("FLOOR_BYTES", "20000")))
