"""`headscope user`: accounts and API tokens for a server with HEADSCOPE_AUTH_ENABLED=true."""

from __future__ import annotations

import typer

from app.cli.common import console, fail
from app.config import get_settings

user_app = typer.Typer(help="Accounts for a server with HEADSCOPE_AUTH_ENABLED=true (findings sharing).")


def _open_store():
    from app.store import Store

    settings = get_settings()
    store = Store(settings.database_url_or_default(), settings.sqlite_synchronous)
    store.migrate()  # the CLI may run before the server ever started on this database
    return store


def _write_password(from_stdin: bool, write) -> None:
    """Read a password (stdin for scripts, else a hidden prompt) and run `write(db, password)` in one transaction."""
    import sys

    from app.store.store_errors import StoreError

    password = (
        sys.stdin.readline().rstrip("\n")
        if from_stdin
        else typer.prompt("password", hide_input=True, confirmation_prompt=True)
    )
    store = _open_store()
    try:
        with store.write() as db:
            write(db, password)
    except StoreError as exc:
        fail(str(exc))


@user_app.command("add")
def user_add(
    name: str = typer.Argument(..., help="user name: letters, digits, _ . @ -"),
    admin: bool = typer.Option(False, "--admin", help="may edit and delete every finding"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from stdin (scripts)"),
) -> None:
    """Create an account (password from a prompt, or stdin with --password-stdin)."""
    from app.store import users

    _write_password(password_stdin, lambda db, password: users.create_user(db, name, password, is_admin=admin))
    console.print(f"created user {name}{' (admin)' if admin else ''}")


@user_app.command("password")
def user_password(
    name: str = typer.Argument(...),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from stdin (scripts)"),
) -> None:
    """Set a password (e.g. for an author that came with an import and has none)."""
    from app.store import users

    _write_password(password_stdin, lambda db, password: users.set_password(db, name, password))
    console.print(f"password set for {name}")


@user_app.command("token")
def user_token(
    name: str = typer.Argument(..., help="the account the token acts as"),
    label: str = typer.Option("cli", "--label", help="what the token is for (shown in GET /api/tokens)"),
) -> None:
    """Print a new API token for scripts (`Authorization: Bearer ...`); it is shown only this once."""
    from app.store import users

    store = _open_store()
    with store.write() as db:
        user = users.get_user(db, name)
        if user is None:
            fail(f"no user {name!r}: create it with `headscope user add {name}`")
        _, token = users.create_token(db, user, label)
    print(token)
