#!/usr/bin/env bash
# Installs the Debian packages tmkit needs to build and test, if any is missing.
# Used by scripts/demo.sh and scripts/test.sh; safe to run repeatedly.
# protobuf-compiler, golang-go and golang-github-google-pprof-dev are test
# oracles only: protoc decodes tmexport's pprof profiles, and pprof itself is
# built from Debian's sources, offline, to read them (cli.export_pprof); its
# build imports the readline and demangle Go packages named after it.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang clang-format llvm binutils python3 valgrind heaptrack
      libzstd-dev libelf-dev libdebuginfod-dev debuginfod zlib1g-dev libcmocka-dev libxxhash-dev
      libgtest-dev dwz elfutils protobuf-compiler golang-go golang-github-google-pprof-dev
      golang-github-chzyer-readline-dev golang-github-ianlancetaylor-demangle-dev time)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "tmkit: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
