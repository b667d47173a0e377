#!/usr/bin/env bash
# Grove for CAF: the entry script. Each subcommand installs what it needs, configures, builds and runs.
#   ./grove.sh test    build and run every test (ctest)
#   ./grove.sh bench   build and run the benchmarks (JSON lines on stdout)
#   ./grove.sh peer-bench [--rounds N]   this project and Erlang/OTP (erlang-nox) on the same work,
#                      in one run: JSON lines, then a table with ratios (bench/peer)
#   ./grove.sh fuzz [SECONDS]   build the libFuzzer targets with clang and run each (default 300 s)
#   ./grove.sh demo    three nodes, concurrent writes, kill -9, restart: a transcript with checks
#   ./grove.sh format [--check]   apply the project style (.clang-format) and copy example regions into
#                      the README and docs/*.md; --check changes nothing and fails if anything differs
#                      (CI runs it)
# Environment: GROVE_BUILD_DIR (default build), GROVE_SANITIZE=1 (ASan+UBSan build),
#              GROVE_JOBS (default 2), GROVE_CMAKE_ARGS (extra configure arguments).
set -euo pipefail
cd "$(dirname "$0")"

packages=(g++ cmake make pkg-config libcaf-dev libboost-test-dev liblmdb-dev libxxhash-dev
          libzstd-dev libabsl-dev libbenchmark-dev nlohmann-json3-dev libcli11-dev libssl-dev openssl
          libjemalloc-dev prometheus-cpp-dev)
build_dir=${GROVE_BUILD_DIR:-build}
jobs=${GROVE_JOBS:-2}

log() { printf '== %s\n' "$*" >&2; }

install_missing_packages() {
  local missing=()
  for p in "${packages[@]}" "$@"; do
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
      [ "$(basename "$b")" = peer_bench ] && continue  # ./grove.sh peer-bench
      "$b"
    done
    ;;
  peer-bench)
    install_missing_packages erlang-nox
    configure_and_build
    log "running bench/peer (both sides, in rounds)"
    "$build_dir"/bench/peer_bench "${@:2}"
    ;;
  fuzz)
    seconds=${2:-${GROVE_FUZZ_SECONDS:-300}}
    install_missing_packages clang libclang-rt-14-dev
    log "configuring build-fuzz (clang, libFuzzer, ASan, UBSan)"
    cmake -S . -B build-fuzz -DGROVE_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build-fuzz -j"$jobs"
    for target in codec group command; do
      log "fuzzing $target for $seconds s"
      mkdir -p build-fuzz/corpus/$target
      # New inputs go to build-fuzz/corpus; the seed corpus in the repository stays as it is.
      if ! build-fuzz/test/fuzz/fuzz_$target -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 \
          -artifact_prefix=build-fuzz/crash-$target- build-fuzz/corpus/$target test/fuzz/corpus/$target \
          > build-fuzz/fuzz_$target.log 2>&1; then
        tail -40 build-fuzz/fuzz_$target.log >&2
        echo "fuzz_$target found a crash: build-fuzz/crash-$target-*" >&2
        exit 1
      fi
      grep -E '^(Done|stat::number_of_executed_units)' build-fuzz/fuzz_$target.log
    done
    ;;
  format)
    command -v clang-format >/dev/null || install_missing_packages clang-format
    mapfile -t sources < <(git ls-files '*.cpp' '*.hpp')
    if [ "${2:-}" = --check ]; then
      clang-format --dry-run --Werror "${sources[@]}"
      log "every C++ file has the project style"
      python3 tools/sync_doc_examples.py . --check
      log "every code block of the README and docs/ equals its example region"
    else
      clang-format -i "${sources[@]}"
      python3 tools/sync_doc_examples.py .
    fi
    ;;
  demo)
    install_missing_packages
    configure_and_build
    log "running the demo"
    "$build_dir"/tools/grove-demo
    ;;
  *)
    sed -n '2,/^set /{/^#/p}' "$0" | sed 's/^# \{0,1\}//'  # the comment at the top
    [ "$cmd" = help ] || exit 2
    ;;
esac
