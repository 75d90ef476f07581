"""alembic environment: runs on the connection app/store/db.py hands over (or the URL in the config)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from app.store.models import Base

config = context.config
target_metadata = Base.metadata


def run(connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things; batch mode recreates tables for it.
    context.configure(
        connection=connection, target_metadata=target_metadata, render_as_batch=connection.dialect.name == "sqlite"
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (connection := config.attributes.get("connection")) is not None:
    run(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None, "sqlalchemy.url is not set"  # app/store/db.py sets it from its engine
    with create_engine(url).connect() as connection:
        run(connection)
        connection.commit()
