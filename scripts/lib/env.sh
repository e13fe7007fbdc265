# Sourced by scripts/run, scripts/test and scripts/bench.
# Makes sure the pinned virtual environment exists and holds this checkout's package, then exports
#   YOULAB_ROOT  the checkout        YOULAB_VENV  the environment        PATH  with the environment's bin first
# The environment lives outside the clone (it is ~3 GB with Open WebUI and torch), in
#   ${YOULAB_VENV_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/youlab/venvs}/<hash of requirements.lock and python>
# so it is reused while the lock is unchanged and rebuilt when it changes.

YOULAB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export YOULAB_ROOT

youlab_python() {
  local candidate
  for candidate in "${YOULAB_PYTHON:-}" python3.11 python3.12 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 13) else 1)' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  echo "error: Python 3.11 or 3.12 is needed (set YOULAB_PYTHON to one)" >&2
  return 1
}

# pip, with the machine's note about missing mirror folders (one line per package) left out of the output.
youlab_pip() {
  "$YOULAB_VENV/bin/python" -m pip "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; } >&2
  return "${PIPESTATUS[0]}"
}

youlab_env() {
  local python key root lockfile
  python="$(youlab_python)" || return 1
  key="$( { cat "$YOULAB_ROOT/requirements.lock"; "$python" -c 'import sys; print(sys.version_info[:2])'; } | sha256sum | cut -c1-16)"
  root="${YOULAB_VENV_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/youlab/venvs}"
  YOULAB_VENV="$root/$key"
  export YOULAB_VENV
  mkdir -p "$root"
  lockfile="$root/.$key.lock"
  (
    # Two scripts started at once must not build the same environment twice.
    flock 9
    if [ ! -f "$YOULAB_VENV/.youlab-complete" ]; then
      echo "==> creating the environment $YOULAB_VENV (first run: several minutes)" >&2
      rm -rf "$YOULAB_VENV"
      "$python" -m venv "$YOULAB_VENV"
      # The CPU build of torch first: otherwise open-webui's dependencies pull the CUDA build (several GB).
      youlab_pip install -q "torch==2.13.0"
      youlab_pip install -q -r "$YOULAB_ROOT/requirements.lock"
      touch "$YOULAB_VENV/.youlab-complete"
    fi
    # This checkout's package, editable, so the environment can be shared by several clones.
    # -I and cd /: the check must see what the environment itself provides (Open WebUI imports the plugins'
    # youlab_core from it), not the checkout that happens to be the current directory.
    if ! (cd / && "$YOULAB_VENV/bin/python" -I - "$YOULAB_ROOT") <<'PY' 2>/dev/null
import os, sys, youlab_core
sys.exit(0 if os.path.dirname(os.path.dirname(os.path.abspath(youlab_core.__file__))) == sys.argv[1] else 1)
PY
    then
      echo "==> installing youlab-core from $YOULAB_ROOT" >&2
      youlab_pip install -q --no-deps -e "$YOULAB_ROOT"
    fi
  ) 9>"$lockfile"
  PATH="$YOULAB_VENV/bin:$PATH"
  export PATH
}
