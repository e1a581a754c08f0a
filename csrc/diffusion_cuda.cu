// CUDA kernels of q_sample, ddpm_step and ddim_step: one pass, VEC elements per thread with 16-byte loads and stores where the sample size allows,
// timesteps gathered on the device (no host sync), noise from a tensor or from Philox.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include <algorithm>

#include "checks.h"
#include "cuda_utils.cuh"

namespace genbench {
namespace {

// What a reverse step needs besides x and eps, passed by value to the kernel.
struct StepArgs {
  const float* table;
  const int64_t* t;
  const int64_t* t_prev;  // DDIM only
  int64_t T;
  float eta;
  uint64_t seed;
  uint64_t base;  // global index of this batch's first element (offset * sample size)
  bool clip;
  bool philox;  // draw noise in-kernel (else the z pointer, or no noise)
};

enum class Kind { QSample, Ddpm, Ddim };

// Grid: x over the vectors of one sample, y over the samples (striding past 65535).
// A block therefore lies in one sample: its timestep and coefficients are uniform, and
// no element pays the 64-bit division that finding its sample from a flat index costs.
template <Kind K, typename scalar_t, int VEC>
__global__ void __launch_bounds__(kThreads)
step_kernel(const scalar_t* __restrict__ x, const scalar_t* __restrict__ other,
            const scalar_t* __restrict__ z, scalar_t* __restrict__ out, int64_t N, int64_t M,
            StepArgs a) {
  const int64_t j = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) * VEC;
  if (j >= M) return;  // VEC divides M, so a vector never straddles two samples
  for (int64_t n = blockIdx.y; n < N; n += gridDim.y) {
    const int64_t i = n * M + j;
    const int64_t t = a.t[n];
    const bool bad_t = t < 0 || t >= a.T;  // reported as NaN: checking on the host would sync
    const auto xv = *reinterpret_cast<const Vec<scalar_t, VEC>*>(x + i);
    const auto ov = *reinterpret_cast<const Vec<scalar_t, VEC>*>(other + i);
    float zf[VEC];
    if (K != Kind::QSample && a.philox) {
      if constexpr (VEC % 4 == 0) {
#pragma unroll
        for (int k = 0; k < VEC; k += 4)
          philox_normal4(a.seed, (a.base + i + k) >> 2, static_cast<uint32_t>(t), zf + k);
      } else {
#pragma unroll
        for (int k = 0; k < VEC; ++k)
          zf[k] = philox_normal(a.seed, a.base + i + k, static_cast<uint32_t>(t));
      }
    } else if (K != Kind::QSample && z != nullptr) {
      const auto zv = *reinterpret_cast<const Vec<scalar_t, VEC>*>(z + i);
#pragma unroll
      for (int k = 0; k < VEC; ++k) zf[k] = static_cast<float>(zv.v[k]);
    } else {
#pragma unroll
      for (int k = 0; k < VEC; ++k) zf[k] = 0.f;
    }
    Vec<scalar_t, VEC> o;
    if (bad_t) {
#pragma unroll
      for (int k = 0; k < VEC; ++k) o.v[k] = static_cast<scalar_t>(NAN);
    } else if constexpr (K == Kind::QSample) {
      const float ca = a.table[kSqrtAbar * a.T + t], cb = a.table[kSqrtOneMinusAbar * a.T + t];
#pragma unroll
      for (int k = 0; k < VEC; ++k)
        o.v[k] = static_cast<scalar_t>(ca * static_cast<float>(xv.v[k]) +
                                       cb * static_cast<float>(ov.v[k]));
    } else if constexpr (K == Kind::Ddpm) {
      const DdpmCoefs c = ddpm_coefs(a.table, a.T, t);
#pragma unroll
      for (int k = 0; k < VEC; ++k)
        o.v[k] = static_cast<scalar_t>(ddpm_element(static_cast<float>(xv.v[k]),
                                                    static_cast<float>(ov.v[k]), zf[k], c, a.clip));
    } else {
      const int64_t tp = a.t_prev[n];
      const DdimCoefs c = ddim_coefs(a.table, a.T, t, tp >= -1 && tp < a.T ? tp : -1, a.eta);
#pragma unroll
      for (int k = 0; k < VEC; ++k)
        o.v[k] = static_cast<scalar_t>(ddim_element(static_cast<float>(xv.v[k]),
                                                    static_cast<float>(ov.v[k]), zf[k], c, a.clip));
    }
    *reinterpret_cast<Vec<scalar_t, VEC>*>(out + i) = o;
  }
}

template <Kind K>
at::Tensor launch_step(const at::Tensor& x_in, const at::Tensor& other_in,
                       const c10::optional<at::Tensor>& noise_in, StepArgs args,
                       int64_t offset) {
  const c10::cuda::CUDAGuard guard(x_in.device());
  const at::Tensor x = x_in.contiguous(), other = other_in.contiguous();
  at::Tensor noise;
  if (noise_in.has_value()) noise = noise_in->contiguous();
  at::Tensor out = at::empty_like(x, at::MemoryFormat::Contiguous);
  const int64_t total = x.numel(), N = x.size(0), M = N ? total / N : 0;
  if (total == 0) return out;
  args.base = static_cast<uint64_t>(offset) * static_cast<uint64_t>(M);
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "diffusion_step_cuda", [&] {
    constexpr int V = vec16<scalar_t>();
    const scalar_t* zp = noise.defined() ? noise.const_data_ptr<scalar_t>() : nullptr;
    const bool vec_ok = M % V == 0 && aligned16(x.const_data_ptr()) &&
                        aligned16(other.const_data_ptr()) && (!zp || aligned16(zp));
    const int vec = vec_ok ? V : 1;
    const dim3 grid(static_cast<unsigned int>((M / vec + kThreads - 1) / kThreads),
                    static_cast<unsigned int>(std::min<int64_t>(N, 65535)));
    if (vec_ok) {
      step_kernel<K, scalar_t, V><<<grid, kThreads, 0, stream>>>(
          x.const_data_ptr<scalar_t>(), other.const_data_ptr<scalar_t>(), zp,
          out.mutable_data_ptr<scalar_t>(), N, M, args);
    } else {
      step_kernel<K, scalar_t, 1><<<grid, kThreads, 0, stream>>>(
          x.const_data_ptr<scalar_t>(), other.const_data_ptr<scalar_t>(), zp,
          out.mutable_data_ptr<scalar_t>(), N, M, args);
    }
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

at::Tensor q_sample_cuda(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t,
                         const at::Tensor& table) {
  const int64_t T = check_schedule_args(x0, noise, t, table, "q_sample", "noise");
  const at::Tensor tc = t.contiguous();
  StepArgs a{table.const_data_ptr<float>(), tc.const_data_ptr<int64_t>(), nullptr, T, 0.f, 0, 0,
             false, false};
  return launch_step<Kind::QSample>(x0, noise, c10::nullopt, a, 0);
}

at::Tensor ddpm_step_cuda(const at::Tensor& x_t, const at::Tensor& eps, const at::Tensor& t,
                          const at::Tensor& table, const c10::optional<at::Tensor>& noise,
                          int64_t seed, int64_t offset, bool clip_x0) {
  const int64_t T = check_schedule_args(x_t, eps, t, table, "ddpm_step", "eps");
  check_noise(x_t, noise, "ddpm_step");
  TORCH_CHECK_VALUE(offset >= 0, "ddpm_step: offset must be >= 0, got ", offset);
  const at::Tensor tc = t.contiguous();
  StepArgs a{table.const_data_ptr<float>(), tc.const_data_ptr<int64_t>(), nullptr, T, 0.f,
             static_cast<uint64_t>(seed), 0, clip_x0, !noise.has_value()};
  return launch_step<Kind::Ddpm>(x_t, eps, noise, a, offset);
}

at::Tensor ddim_step_cuda(const at::Tensor& x_t, const at::Tensor& eps, const at::Tensor& t,
                          const at::Tensor& t_prev, const at::Tensor& table, double eta,
                          const c10::optional<at::Tensor>& noise, int64_t seed, int64_t offset,
                          bool clip_x0) {
  const int64_t T = check_schedule_args(x_t, eps, t, table, "ddim_step", "eps");
  check_noise(x_t, noise, "ddim_step");
  TORCH_CHECK_TYPE(t_prev.scalar_type() == at::kLong && t_prev.sizes() == t.sizes() &&
                       t_prev.device() == t.device(),
                   "ddim_step: t_prev must be an int64 tensor like t");
  TORCH_CHECK_VALUE(eta >= 0.0, "ddim_step: eta must be >= 0, got ", eta);
  TORCH_CHECK_VALUE(offset >= 0, "ddim_step: offset must be >= 0, got ", offset);
  const at::Tensor tc = t.contiguous(), pc = t_prev.contiguous();
  StepArgs a{table.const_data_ptr<float>(), tc.const_data_ptr<int64_t>(),
             pc.const_data_ptr<int64_t>(), T, static_cast<float>(eta),
             static_cast<uint64_t>(seed), 0, clip_x0, !noise.has_value() && eta > 0.0};
  return launch_step<Kind::Ddim>(x_t, eps, noise, a, offset);
}

}  // namespace

TORCH_LIBRARY_IMPL(genbench, CUDA, m) {
  m.impl("q_sample", &q_sample_cuda);
  m.impl("ddpm_step", &ddpm_step_cuda);
  m.impl("ddim_step", &ddim_step_cuda);
}

}  // namespace genbench
