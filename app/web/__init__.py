"""HTTP layer: thin FastAPI routes over app.core, and the Jinja2 pages."""
