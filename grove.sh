#!/usr/bin/env bash
# Grove for CAF: the entry script. Each subcommand installs what it needs, configures, builds and runs.
#   ./grove.sh test    build and run every test (ctest)
#   ./grove.sh bench   build and run the benchmarks (JSON lines on stdout)
#   ./grove.sh demo    three nodes, concurrent writes, kill -9, restart: a transcript with checks
# Environment: GROVE_BUILD_DIR (default build), GROVE_SANITIZE=1 (ASan+UBSan build),
#              GROVE_JOBS (default 2), GROVE_CMAKE_ARGS (extra configure arguments).
set -euo pipefail
cd "$(dirname "$0")"

packages=(g++ cmake make pkg-config libcaf-dev libboost-test-dev liblmdb-dev libxxhash-dev
          libzstd-dev libabsl-dev libbenchmark-dev nlohmann-json3-dev libcli11-dev)
build_dir=${GROVE_BUILD_DIR:-build}
jobs=${GROVE_JOBS:-2}

log() { printf '== %s\n' "$*" >&2; }

install_missing_packages() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

configure_and_build() {
  local args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
  [ "${GROVE_SANITIZE:-0}" = 1 ] && args+=(-DGROVE_SANITIZE=ON -DGROVE_BUILD_BENCH=OFF)
  # shellcheck disable=SC2206
  args+=(${GROVE_CMAKE_ARGS:-})
  log "configuring $build_dir"
  cmake -S . -B "$build_dir" "${args[@]}" >/dev/null
  log "building with -j$jobs"
  cmake --build "$build_dir" -j"$jobs"
}

cmd=${1:-help}
case "$cmd" in
  test)
    install_missing_packages
    configure_and_build
    log "running tests"
    cd "$build_dir" && ctest --output-on-failure -j"$jobs"
    ;;
  bench)
    install_missing_packages
    configure_and_build
    log "running benchmarks"
    for b in "$build_dir"/bench/*_bench; do
      "$b"
    done
    ;;
  demo)
    install_missing_packages
    configure_and_build
    log "running the demo"
    "$build_dir"/tools/grove-demo
    ;;
  *)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    [ "$cmd" = help ] || exit 2
    ;;
esac
