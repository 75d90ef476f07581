"""The `headscope` command: serve the app and run its jobs from a shell (one module per command group)."""

from __future__ import annotations

import typer

from app.cli import analysis, report, robustness, serving, training, users

cli = typer.Typer(help="headscope: see what the attention heads of fine-tuned BERT models do.", no_args_is_help=True)
cli.registered_commands += serving.cli.registered_commands + analysis.cli.registered_commands
cli.registered_commands += robustness.cli.registered_commands
cli.registered_commands += report.cli.registered_commands
cli.registered_commands += training.evaluate_app.registered_commands
cli.add_typer(training.train_app, name="train")
cli.add_typer(users.user_app, name="user")

TRAIN_DEFAULTS = training.TRAIN_DEFAULTS


def main() -> None:
    cli()
