"""The delimited block both patch parts append (openwebui_patches/block.py): its markers stay byte-identical to the
ones earlier versions wrote (an installed patch must still be recognised and reverted), strip inverts append, and
a block cut short is an error naming the file."""

from __future__ import annotations

import pytest

from openwebui_patches import assets, server
from openwebui_patches.block import AppendedBlock

JS = AppendedBlock("p-id", "loader.js", b"/* ", b" */")
PY = AppendedBlock("p-id", "main.py", b"# ")


def test_markers_are_the_ones_installed_patches_carry() -> None:
    assert JS.begin == b"\n/* p-id: begin" and JS.end == b"/* p-id: end */\n"
    assert PY.begin == b"\n# p-id: begin" and PY.end == b"# p-id: end\n"
    assert assets.BLOCK_BEGIN == b"\n/* youlab-readonly-threads: begin"
    assert server.BLOCK_END == b"# youlab-write-guard: end\n"
    assert JS.wrap(b"x();\n").startswith(JS.begin + b" (added by `youlab patch apply`") and b" */\nx();\n" in JS.wrap(b"x();\n")


@pytest.mark.parametrize("block", [JS, PY])
@pytest.mark.parametrize("original", [b"", b"console.log(1);\n", b"no newline at the end"])
def test_strip_inverts_append(block: AppendedBlock, original: bytes) -> None:
    data = original + block.wrap(b"body\n")
    assert block.present(data) and not block.present(original)
    assert block.strip(data) == original
    assert block.strip(original) == original


def test_a_block_without_its_end_is_an_error_naming_the_file() -> None:
    with pytest.raises(ValueError, match=r"main.py has the start of YouLab's block \(p-id\) but not its end"):
        PY.strip(b"x = 1\n" + PY.begin + b"\nhalf\n")
