# Sourced by scripts/test and scripts/run: Debian packages the suite needs, installed when missing.
#   git (student repositories); postgresql and redis-server (the state store's PostgreSQL tests, the replica
#   tests, `scripts/run --replicas N`); chromium (browser tests).
#   youlab_system_packages [test|replicas]

youlab_system_packages() {
  local missing=()
  command -v git >/dev/null 2>&1 || missing+=(git)
  if [ "${1:-}" = test ] || [ "${1:-}" = replicas ]; then
    ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
    command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
  fi
  if [ "${1:-}" = test ]; then
    [ -x /usr/bin/chromium ] || missing+=(chromium)
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing Debian packages: ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q >&2
  # policy-rc.d says no to starting services at install: we start our own PostgreSQL and Redis, on our ports,
  # and the package's system-wide ones would only take memory (and port 5432/6379). Only where we may write it.
  local policy=/usr/sbin/policy-rc.d created=""
  if [ "$(id -u)" -eq 0 ] && [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created=1
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" >&2 || rc=$?
  [ -n "$created" ] && rm -f "$policy"
  return $rc
}

# The replica count scripts/run was asked for (--replicas N, --replicas=N, else $YOULAB_REPLICAS, else 1).
youlab_requested_replicas() {
  local n="${YOULAB_REPLICAS:-1}"
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --replicas) n="${2:-1}"; shift ;;
      --replicas=*) n="${1#--replicas=}" ;;
    esac
    shift
  done
  echo "$n"
}
