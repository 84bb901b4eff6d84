#!/usr/bin/env bash
# Build llama.cpp's C++ server (llama-server: continuous batching over --parallel slots, the
# json_schema response_format, /tokenize, /apply-template, /props) from the llama.cpp sources
# vendored in the llama-cpp-python sdist on PyPI, with the same instruction-set flags as the
# embedded engine's wheel (scripts/llama_cmake_args.py: never -march=native; AMX off).
# Prints the binary's path. About 9 minutes on 2 idle cores; needs a C/C++ compiler and cmake.
#   scripts/build_llama_server.sh [PYTHON]      e.g. LLAMA_SERVER=$(scripts/build_llama_server.sh)
set -euo pipefail
PYTHON=${1:-python3}
VERSION=0.3.36
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${EXTRACTINATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/extractinator}
FLAGS=${CMAKE_ARGS:-$("$PYTHON" "$HERE/llama_cmake_args.py" | tail -1)}
KEY=$(printf '%s %s' "$VERSION" "$FLAGS" | sha256sum | cut -c1-12)
OUT="$CACHE/llama-server/$KEY"
if [ -x "$OUT/bin/llama-server" ]; then echo "$OUT/bin/llama-server"; exit 0; fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$PYTHON" -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$WORK" >&2
tar -xzf "$WORK"/llama_cpp_python-$VERSION.tar.gz -C "$WORK"
SRC="$WORK/llama_cpp_python-$VERSION/vendor/llama.cpp"
# shellcheck disable=SC2086  # FLAGS is a list of -D options
cmake -S "$SRC" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
  -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_BUILD_SERVER=ON -DBUILD_SHARED_LIBS=OFF $FLAGS >&2
cmake --build "$WORK/build" --target llama-server -j "$(nproc)" >&2
mkdir -p "$OUT.tmp/bin"
cp "$WORK/build/bin/llama-server" "$OUT.tmp/bin/"  # static: no shared libraries to carry
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
echo "$OUT/bin/llama-server"
