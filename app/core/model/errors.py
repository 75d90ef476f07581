"""Errors the core raises with a message a user can act on; the web layer maps them to 4xx."""


def validator_words(message: str) -> str:
    """A pydantic error's message as our validator wrote it: without the "Value error, " pydantic puts before a
    ValueError's text."""
    return message.removeprefix("Value error, ")


class HeadscopeError(Exception):
    """Base class: the message says what was wrong and what is accepted."""


class CheckpointError(HeadscopeError):
    """A checkpoint folder cannot be used (missing files, pickle weights, bad headscope.json)."""


class InputError(HeadscopeError):
    """An input cannot be encoded for the checkpoint's task (missing entity, empty text...)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class AttentionUnavailableError(HeadscopeError):
    """The model returned no attention weights (e.g. sdpa attention in transformers 5)."""
