# Sourced by scripts/test and scripts/run: Debian packages the suite needs, installed when missing.
#   git (student repositories), postgresql (the state store's PostgreSQL tests), chromium (browser tests).

youlab_system_packages() {
  local missing=()
  command -v git >/dev/null 2>&1 || missing+=(git)
  if [ "${1:-}" = test ]; then
    ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
    [ -x /usr/bin/chromium ] || missing+=(chromium)
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing Debian packages: ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" >&2
}
