"""Print CMAKE_ARGS for building llama-cpp-python for this machine's CPU.

A plain -march=native build of llama.cpp can crash on virtual machines that advertise AMX
(seen on AVX-512 cloud VMs), and a generic build leaves AVX-512 unused (50-60% slower prompt
processing where it exists). So: never native; enable each x86 instruction set the CPU
reports in /proc/cpuinfo; AMX always off. Other architectures get the portable defaults.

    CMAKE_ARGS="$(python3 scripts/llama_cmake_args.py)" pip install llama-cpp-python==0.3.36
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

# (cpuinfo flags that must all be present, the ggml CMake option they enable)
X86_OPTIONS = [
    ({"avx"}, "GGML_AVX"),
    ({"avx2"}, "GGML_AVX2"),
    ({"fma"}, "GGML_FMA"),
    ({"f16c"}, "GGML_F16C"),
    ({"bmi2"}, "GGML_BMI2"),
    ({"avx_vnni"}, "GGML_AVX_VNNI"),
    ({"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"}, "GGML_AVX512"),
    ({"avx512vbmi"}, "GGML_AVX512_VBMI"),
    ({"avx512_vnni"}, "GGML_AVX512_VNNI"),
    ({"avx512_bf16"}, "GGML_AVX512_BF16"),
]
ALWAYS_OFF = ["GGML_NATIVE", "GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16"]


def cpu_flags(cpuinfo: str) -> set[str]:
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def cmake_args(machine: str, flags: set[str]) -> str:
    args = [f"-D{opt}=OFF" for opt in ALWAYS_OFF]
    if machine in ("x86_64", "AMD64", "i686"):
        args += [f"-D{opt}={'ON' if need <= flags else 'OFF'}" for need, opt in X86_OPTIONS]
    return " ".join(args)


def main() -> None:
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        info = ""
    print(cmake_args(platform.machine(), cpu_flags(info)))


if __name__ == "__main__":
    sys.exit(main())
