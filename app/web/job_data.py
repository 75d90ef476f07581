"""The data a job request names, resolved the same way for every kind of job (analyses, robustness runs, reports).

A request gives `data` (demo data, a file under HEADSCOPE_SHARED_DATA, or "upload:<sha256>") or the
JSONL text itself as `upload`. Someone else's upload is an unknown upload: the same answer as for bytes
nobody uploaded. Errors name the data as the user gave it (app.core.data.sources).
"""

from __future__ import annotations

from typing import Any

from app.core.data.readers import Dataset
from app.core.data.sources import DataSourceError, accepted_sources, load_data_source
from app.store.models import User
from app.web.job_context import JobContext, JobInputError
from app.web.uploads import PREFIX as UPLOAD_PREFIX


def data_name(data: str | None, upload: str | None, user: User, context: JobContext) -> str:
    """The data source a request names, storing an inline upload first (413 above the upload limit)."""
    if upload is not None and data is not None:
        raise JobInputError("give either data or upload, not both", "upload")
    if upload is not None:
        return context.uploads.save(upload, user)
    if data:
        return data
    accepted = accepted_sources(context.settings.shared_data)
    raise JobInputError(f"data is required; accepted: {'; '.join(accepted)}", "data", accepted)


def load_named(name: str, user: User, context: JobContext, field: str = "data") -> Dataset:
    """The dataset `name` stands for, for this user; 422 on `field` naming what is accepted otherwise."""
    mine = not name.startswith(UPLOAD_PREFIX) or context.uploads.may_use(name, user)
    try:
        return load_data_source(
            name, shared_data=context.settings.shared_data, uploads=context.uploads.folder if mine else None
        )
    except DataSourceError as exc:
        raise JobInputError(str(exc), field, exc.accepted or None) from exc


def public_result(
    result: dict[str, Any], context: JobContext, settings_keys: tuple[str, ...] = (), name_data: bool = False
) -> dict[str, Any]:
    """A stored result as users see it: the data named as they gave it (its path, and its name too with
    `name_data`), no server folder in the model's base or the `settings_keys` settings, and the server's minimum n
    (HEADSCOPE_MIN_N: below it a page greys a statistic out rather than ranking it, docs/concepts.md#minimum-n)."""
    result["min_n"] = context.settings.min_n
    given = ((result.get("job") or {}).get("data") or {}).get("name")
    data = result.get("data")
    if isinstance(data, dict):
        if name_data and given:
            data["name"] = given
        if isinstance(data.get("path"), str):
            data["path"] = given or context.public.name(data["path"])
    for section, keys in (("settings", settings_keys), ("model", ("base_model",))):
        values = result.get(section)
        for key in keys:
            if isinstance(values, dict) and isinstance(values.get(key), str):
                values[key] = context.public.text(values[key])
    return result
