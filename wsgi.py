"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""
from equipment import create_app

app = create_app()
