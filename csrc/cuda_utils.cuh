// Launch helpers shared by the CUDA kernels: vector types for 16-byte accesses and a
// grid-stride launch configuration sized to the device.
#pragma once

#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace genbench {

template <typename scalar_t, int VEC>
struct alignas(sizeof(scalar_t) * VEC) Vec {
  scalar_t v[VEC];
};

// Elements per 16-byte access for a storage type.
template <typename scalar_t>
constexpr int vec16() {
  return 16 / static_cast<int>(sizeof(scalar_t));
}

inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

constexpr int kThreads = 256;

// Enough blocks to fill the device a few times over; kernels grid-stride past that.
inline unsigned int grid_for(int64_t work_items) {
  int device = 0, sms = 0;
  C10_CUDA_CHECK(cudaGetDevice(&device));
  C10_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  const int64_t wanted = (work_items + kThreads - 1) / kThreads;
  const int64_t cap = static_cast<int64_t>(sms) * 16;
  const int64_t blocks = wanted < cap ? wanted : cap;
  return static_cast<unsigned int>(blocks > 0 ? blocks : 1);
}

}  // namespace genbench
