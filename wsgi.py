"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""
from equipment import create_app
from equipment.core.process import freeze_startup_heap

app = create_app()
freeze_startup_heap()  # full collections would otherwise pause requests for ~110 ms (core/process.py)
