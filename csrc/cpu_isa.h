// GB_CPU_CLONES marks a CPU loop to be compiled three times (AVX-512, AVX2+FMA and the
// x86-64 baseline) with the copy picked once, at load time, for the machine it runs on.
// The build targets the baseline so that one wheel runs everywhere; without this the
// loops used 16-byte SSE vectors, and ddpm_step ran 2.2x slower than at -march=native
// (docs/ops.md, "Measured"). Only leaf functions carry it: a loop inside a lambda that
// at::parallel_for outlines would be compiled for the baseline whatever its caller is.
// Clones are local symbols, so no inline function of ATen is ever emitted for a wider
// ISA than the machine has.
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
#define GB_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define GB_CPU_CLONES
#endif
