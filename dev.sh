#!/usr/bin/env bash
# fairgov developer entry point. Each command installs what it needs first (virtualenvs,
# npm packages, the brownie environment) and skips what is already up to date.
#
#   ./dev.sh run        start the service on embedded defaults (the README's main job)
#   ./dev.sh check      the fast inner loop: ruff, mypy, lint-imports and the unit tests not marked slow
#   ./dev.sh test       every test and lint: ruff, mypy, lint-imports, pytest on every core,
#                       and the brownie tests alongside them
#   ./dev.sh test ARGS  pytest ARGS only (e.g. ./dev.sh test tests/unit -x)
#   ./dev.sh contracts  recompile the contracts and rewrite governance/abi/*.json
#   ./dev.sh fairgov …  run any fairgov command inside the project's environment
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="$ROOT/.cache"
VENV="$ROOT/.venv"
BROWNIE_VENV="$ROOT/.venv-brownie"
CONTRACTS="$ROOT/contracts"
SOLC_VERSION="0.8.37"

die() { printf 'fairgov: %s\n' "$*" >&2; exit 2; }
step() { printf '==> %s\n' "$*" >&2; }

fingerprint() { cat "$@" | sha256sum | cut -d' ' -f1; }

# pip on some machines warns about find-links folders that do not exist; keep the log readable.
quiet_pip() { "$@" 2> >(grep -v "^WARNING: Location '.*' is ignored" >&2); }

# A step runs again only when the files it depends on change.
up_to_date() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

find_python() {
  for candidate in "${FAIRGOV_PYTHON:-}" python3.11 python3 python; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

check_prerequisites() {
  PYTHON="$(find_python)" || die "Python 3.11 or newer is required: install it, or point FAIRGOV_PYTHON at it."
  command -v node >/dev/null 2>&1 || die "node was not found: install Node.js 20 or newer with npm."
  command -v npm >/dev/null 2>&1 || die "npm was not found: install npm (it ships with Node.js 20)."
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
    die "Node.js $(node --version) is too old: install Node.js 20 or newer."
}

ensure_node_packages() {
  local stamp="$CONTRACTS/node_modules/.fairgov-stamp" want
  want="$(fingerprint "$CONTRACTS/package-lock.json")"
  up_to_date "$stamp" "$want" && return 0
  step "installing the Solidity toolchain from npm (solc, OpenZeppelin Contracts, anvil)"
  # `npm ci` refuses the lock file npm 11 writes for packages with per-platform optional
  # binaries (anvil); `npm install` honours the same pinned versions.
  (cd "$CONTRACTS" && npm install --no-audit --no-fund --loglevel=error) ||
    die "npm install failed in contracts/: check that the npm registry is reachable."
  printf '%s' "$want" >"$stamp"
}

ensure_venv() {
  local stamp="$VENV/.fairgov-stamp" want
  want="$(fingerprint "$ROOT/pyproject.toml" "$ROOT/requirements/constraints.txt")"
  up_to_date "$stamp" "$want" && return 0
  step "installing fairgov and its development tools into .venv"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  quiet_pip "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  quiet_pip "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c "$ROOT/requirements/constraints.txt" -e "$ROOT[dev]"
  printf '%s' "$want" >"$stamp"
}

ensure_brownie() {
  local stamp="$BROWNIE_VENV/.fairgov-stamp" want
  want="$(fingerprint "$ROOT/requirements/brownie.txt")"
  if ! up_to_date "$stamp" "$want"; then
    # brownie pins every dependency exactly, so it lives apart from the service's environment.
    step "installing brownie into .venv-brownie"
    [ -x "$BROWNIE_VENV/bin/python" ] || "$PYTHON" -m venv "$BROWNIE_VENV"
    quiet_pip "$BROWNIE_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    quiet_pip "$BROWNIE_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
      -r "$ROOT/requirements/brownie.txt"
    printf '%s' "$want" >"$stamp"
  fi
  # py-solc-x (inside brownie) would download a native solc; serve npm solc through the adapter.
  mkdir -p "$CACHE/solc-bin" "$CACHE/brownie-home/.brownie"
  ln -sf "$CONTRACTS/toolchain/solc-native.js" "$CACHE/solc-bin/solc-v$SOLC_VERSION"
}

anvil_bin_dir() {
  local dir
  for dir in "$CONTRACTS"/node_modules/@foundry-rs/anvil-*/bin; do
    [ -x "$dir/anvil" ] && { printf '%s' "$dir"; return 0; }
  done
  die "the anvil binary is missing from contracts/node_modules: delete contracts/node_modules and run again."
}

free_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

brownie() {
  local home="$CACHE/brownie-home"
  sed "s/@PORT@/$(free_port)/" "$CONTRACTS/toolchain/network-config.yaml.in" >"$home/.brownie/network-config.yaml"
  # brownie keeps its data folder under $HOME; give it one inside the project.
  (cd "$CONTRACTS" && HOME="$home" SOLCX_BINARY_PATH="$CACHE/solc-bin" PATH="$(anvil_bin_dir):$PATH" \
    "$BROWNIE_VENV/bin/brownie" "$@")
}

bootstrap() {
  check_prerequisites
  ensure_node_packages
  ensure_venv
  export FAIRGOV_ANVIL_PATH="${FAIRGOV_ANVIL_PATH:-$(anvil_bin_dir)/anvil}"
}

ensure_chromium() {
  # The HTML report test renders in headless Chromium (Debian's package; nothing is downloaded
  # at run time). Without root or apt the test is skipped and says why.
  command -v chromium >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "installing Debian chromium for the HTML report test"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1 ||
      step "could not install chromium: the browser test will be skipped"
  fi
}

lint() {
  step "ruff"
  "$VENV/bin/ruff" check "$ROOT"
  "$VENV/bin/ruff" format --check "$ROOT"
  step "mypy"
  (cd "$ROOT" && "$VENV/bin/mypy")
  step "lint-imports (the layering rules in pyproject.toml)"
  (cd "$ROOT" && "$VENV/bin/lint-imports" --cache-dir "$CACHE/import-linter")
}

run_check() {
  bootstrap
  lint
  step "pytest tests/unit (not slow), on every core"
  (cd "$ROOT" && "$VENV/bin/python" -m pytest tests/unit -q -m "not slow" -n logical "$@")
}

# Run COMMAND… in the background, its output in LOG, in a process group of its own so that an
# early exit of this script (a lint failure, Ctrl-C) stops it and everything it started.
start_background() {
  local log="$1"
  shift
  set -m
  "$@" >"$log" 2>&1 &
  BACKGROUND_PID=$!
  set +m
  trap 'kill -TERM -- "-$BACKGROUND_PID" 2>/dev/null || true' EXIT
}

# Wait for the command start_background started; its exit status.
finish_background() {
  local status=0
  wait "$BACKGROUND_PID" || status=$?
  trap - EXIT
  return "$status"
}

run_tests() {
  bootstrap
  if [ $# -gt 0 ]; then
    # Targeted: what the caller named, and nothing else.
    (cd "$ROOT" && "$VENV/bin/python" -m pytest "$@")
    return
  fi
  ensure_brownie
  ensure_chromium
  # The brownie contract tests run on their own anvil, in the background, while lint and
  # pytest run: mypy uses one core, and many pytest tests wait on anvil, uvicorn or Flower
  # processes, so the cores have room for them. Their output is shown once both are done.
  local brownie_log brownie_status=0 pytest_status=0
  brownie_log="$(mktemp -t fairgov-brownie.XXXXXX)"
  step "brownie contract tests on anvil: started in the background (output after pytest)"
  start_background "$brownie_log" brownie test
  lint
  step "pytest on every core (pytest-xdist; each test file stays on one worker)"
  # The 25 slowest tests are listed at the end: the ones to look at when the run grows.
  (cd "$ROOT" && "$VENV/bin/python" -m pytest -n logical --dist loadfile --durations=25) ||
    pytest_status=$?
  step "brownie contract tests on anvil: their output"
  finish_background || brownie_status=$?
  cat "$brownie_log"
  rm -f "$brownie_log"
  if [ "$brownie_status" -ne 0 ]; then
    printf 'fairgov: the brownie contract tests failed (exit %s); their output is above\n' \
      "$brownie_status" >&2
  fi
  if [ "$pytest_status" -ne 0 ]; then
    printf 'fairgov: pytest failed (exit %s)\n' "$pytest_status" >&2
    return "$pytest_status"
  fi
  return "$brownie_status"
}

main() {
  local command="${1:-}"
  [ $# -gt 0 ] && shift
  case "$command" in
  run)
    bootstrap
    exec "$VENV/bin/fairgov" run "$@"
    ;;
  check) run_check "$@" ;;
  test) run_tests "$@" ;;
  contracts)
    check_prerequisites
    ensure_node_packages
    (cd "$ROOT" && node "$CONTRACTS/toolchain/build-artifacts.js")
    ;;
  brownie)
    bootstrap
    ensure_brownie
    brownie "$@"
    ;;
  fairgov)
    bootstrap
    exec "$VENV/bin/fairgov" "$@"
    ;;
  *)
    die "usage: ./dev.sh run | check | test [pytest args] | contracts | brownie ARGS | fairgov ARGS"
    ;;
  esac
}

# Sourced (by the tests of this script), it only defines its functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
