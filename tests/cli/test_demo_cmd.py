import signal
import subprocess
import sys

import httpx

from youlab_core.demo_model import MODEL_ID


def test_demo_model_command_prints_url_serves_and_stops_on_ctrl_c():
    proc = subprocess.Popen(
        [sys.executable, "-m", "youlab_core", "demo-model", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        assert httpx.get(url + "/models", timeout=5).json()["data"][0]["id"] == MODEL_ID
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()


def test_demo_model_command_reports_a_busy_port(demo_model):
    result = subprocess.run(
        [sys.executable, "-m", "youlab_core", "demo-model", "--port", str(demo_model.port)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and f"127.0.0.1:{demo_model.port}" in result.stderr
