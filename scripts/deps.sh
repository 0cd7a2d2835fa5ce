#!/usr/bin/env bash
# Installs the Debian packages tmkit needs to build and test, if any is missing.
# Used by scripts/demo.sh and scripts/test.sh; safe to run repeatedly.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang clang-format llvm binutils python3 valgrind heaptrack
      libzstd-dev libelf-dev zlib1g-dev libcmocka-dev libxxhash-dev time)
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
