"""The llama.cpp build flags chosen from the host CPU (never native, AMX always off)."""

from __future__ import annotations

import importlib.util

from paths import REPO

spec = importlib.util.spec_from_file_location(
    "llama_cmake_args", REPO / "scripts" / "llama_cmake_args.py"
)
flags_mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(flags_mod)

AVX512_VM = (
    "flags\t\t: fpu sse avx avx2 fma f16c bmi2 avx512f avx512bw avx512dq avx512vl "
    "avx512cd avx512_vnni avx512_bf16 amx_tile amx_int8\n"
)
AVX2_ONLY = "flags\t\t: fpu sse avx avx2 fma f16c\n"


def args(machine, cpuinfo):
    return flags_mod.cmake_args(machine, flags_mod.cpu_flags(cpuinfo)).split()


def test_avx512_vm_gets_avx512_and_never_native_or_amx():
    a = args("x86_64", AVX512_VM)
    assert "-DGGML_NATIVE=OFF" in a and "-DGGML_AVX512=ON" in a
    assert "-DGGML_AVX512_VNNI=ON" in a and "-DGGML_AVX512_BF16=ON" in a
    assert "-DGGML_AMX_TILE=OFF" in a and "-DGGML_AMX_INT8=OFF" in a
    assert "-DGGML_AVX512_VBMI=OFF" in a  # not in the flags


def test_avx2_cpu_gets_no_avx512_and_other_arches_get_the_portable_build():
    a = args("x86_64", AVX2_ONLY)
    assert "-DGGML_AVX2=ON" in a and "-DGGML_AVX512=OFF" in a
    assert args("aarch64", AVX512_VM) == [
        "-DGGML_NATIVE=OFF",
        "-DGGML_AMX_TILE=OFF",
        "-DGGML_AMX_INT8=OFF",
        "-DGGML_AMX_BF16=OFF",
    ]
