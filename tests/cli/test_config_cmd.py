import shutil
import subprocess
import sys
from pathlib import Path

from youlab_core.cli import main

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config/courses/college-essay/course.toml"


def test_shipped_course_checks_ok(capsys):
    assert main(["config", "check", str(SHIPPED)]) == 0
    assert "ok:" in capsys.readouterr().out


def test_default_checks_the_config_dir(capsys):
    assert main(["config", "check", "--config-dir", str(ROOT / "config")]) == 0


def test_broken_copy_exits_2_naming_file_and_key(tmp_path, capsys):
    broken = tmp_path / "course.toml"
    shutil.copy(SHIPPED, broken)
    broken.write_text(broken.read_text().replace('target = "journey.blockers"', 'target = "journey.blocker"'))
    assert main(["config", "check", str(broken)]) == 2
    err = capsys.readouterr().err
    assert f"{broken}: task[0].queries[1].target: block 'journey' has no field 'blocker'" in err


def test_console_script_runs_as_a_process(tmp_path):
    done = subprocess.run([sys.executable, "-m", "youlab_core", "config", "check", str(tmp_path / "nope.toml")],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "cannot read file" in done.stderr


def test_library_imports_without_open_webui():
    code = "import sys, youlab_core, youlab_core.config; sys.exit(1 if 'open_webui' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
