#!/usr/bin/env bash
# Build (once) a llama-cpp-python wheel tuned to this CPU and print the folder holding it,
# for `pip install --find-links`. The folder is keyed by version + CMake flags, so a
# different CPU or version builds its own wheel; pip's own wheel cache cannot tell builds
# with different flags apart. If the tuned build fails, a portable build is used instead.
#   usage: scripts/llama_wheel.sh PYTHON   (the python whose pip builds the wheel)
set -euo pipefail
python="${1:-python3}"
version="0.3.36"
here="$(cd "$(dirname "$0")" && pwd)"
args="${CMAKE_ARGS:-$("$python" "$here/llama_cmake_args.py")}"
cache="${EXTRACTINATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/extractinator}"
key="$(printf '%s %s' "$version" "$args" | sha256sum | cut -c1-12)"
dir="$cache/wheels/$key"
if ! ls "$dir"/llama_cpp_python-"$version"-*.whl >/dev/null 2>&1; then
  mkdir -p "$dir"
  echo "building llama-cpp-python $version for this CPU (a few minutes, once): $args" >&2
  used="$args"
  if ! CMAKE_ARGS="$args" "$python" -m pip wheel --quiet --no-deps --no-cache-dir \
      "llama-cpp-python==$version" -w "$dir" >&2; then
    echo "tuned build failed; building the portable one (-DGGML_NATIVE=OFF)" >&2
    used="-DGGML_NATIVE=OFF"
    CMAKE_ARGS="$used" "$python" -m pip wheel --quiet --no-deps --no-cache-dir \
      "llama-cpp-python==$version" -w "$dir" >&2
  fi
  printf '%s\n' "$used" > "$dir/CMAKE_ARGS"
fi
echo "$dir"
