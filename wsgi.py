"""WSGI entry point (`flask --app wsgi …`, `gunicorn wsgi:app`). Builds the app and nothing else."""
import sys

from config import ConfigError, load_dotenv_for_development

load_dotenv_for_development()

from app import create_app  # noqa: E402

try:
    app = create_app()
except ConfigError as e:
    # One clear line instead of a traceback: the setting is named in the message.
    sys.stderr.write(f"Configuration error: {e}\n")
    raise SystemExit(2) from None
