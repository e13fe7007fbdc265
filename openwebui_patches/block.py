"""A delimited block appended to a file that Open WebUI ships (loader.js, main.py): how it is recognised, written
and removed, in one place for both parts of the patch.

Appending (not replacing) keeps the file's own content working; the delimiters, written as comments of the file's
language, let `strip` remove exactly what `append` added, so revert restores the file byte for byte."""

from __future__ import annotations

from dataclasses import dataclass

NOTE = b" (added by `youlab patch apply`; `youlab patch revert` removes it)"


@dataclass(frozen=True)
class AppendedBlock:
    """The block of patch `patch_id` in `file_name`, delimited by comments opened with `opener` and closed with
    `closer` (`/* `, ` */` in JavaScript; `# `, `` in Python)."""

    patch_id: str
    file_name: str
    opener: bytes
    closer: bytes = b""

    @property
    def begin(self) -> bytes:
        return b"\n" + self.opener + self.patch_id.encode() + b": begin"

    @property
    def end(self) -> bytes:
        return self.opener + self.patch_id.encode() + b": end" + self.closer + b"\n"

    def wrap(self, body: bytes) -> bytes:
        """The whole block around `body` (lines of the file's language, each ending in a newline)."""
        return self.begin + NOTE + self.closer + b"\n" + body + self.end

    def present(self, data: bytes) -> bool:
        return self.begin in data

    def strip(self, data: bytes) -> bytes:
        """`data` without the block (the exact inverse of appending `wrap(...)`); unchanged when it has none."""
        start = data.find(self.begin)
        if start < 0:
            return data
        stop = data.find(self.end, start)
        if stop < 0:
            raise ValueError(f"{self.file_name} has the start of YouLab's block ({self.patch_id}) but not its end")
        return data[:start] + data[stop + len(self.end):]
