"""Files and folders written in one step (app/core/data/files.py): what a failed write leaves is what was there."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.data.files import replace_folder, write_bytes_atomically


def test_write_replaces_and_a_failed_write_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "results" / "job.json"
    write_bytes_atomically(target, b"one")
    write_bytes_atomically(target, b"two")
    assert target.read_bytes() == b"two" and [p.name for p in target.parent.iterdir()] == ["job.json"]
    blocked = tmp_path / "results" / "a-folder"  # os.replace cannot put a file over a folder that holds something
    (blocked / "inside").mkdir(parents=True)
    with pytest.raises(OSError):
        write_bytes_atomically(blocked, b"three")
    assert sorted(p.name for p in target.parent.iterdir()) == ["a-folder", "job.json"]


def test_replace_folder_swaps_in_the_new_content(tmp_path):
    out = tmp_path / "model"
    replace_folder(out, lambda folder: (folder / "weights").write_text("old"))
    replace_folder(out, lambda folder: (folder / "weights").write_text("new"))
    assert (out / "weights").read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["model"]


def test_a_failed_swap_puts_the_old_folder_back(tmp_path, monkeypatch):
    out = tmp_path / "model"
    replace_folder(out, lambda folder: (folder / "weights").write_text("old"))
    rename = Path.rename

    def refuse_the_new_folder(self, target):
        if Path(target) == out and self.name.startswith(".tmp-"):
            raise OSError("disk gone")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", refuse_the_new_folder)
    with pytest.raises(OSError, match="disk gone"):
        replace_folder(out, lambda folder: (folder / "weights").write_text("new"))
    assert (out / "weights").read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["model"]
