// CPU kernels of the diffusion ops: q_sample, ddpm_step, ddim_step. Each is one pass
// over the batch; the per-sample coefficients are gathered from the schedule table by
// the sample's own timestep, and the noise (when not given) comes from Philox.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "checks.h"
#include "cpu_isa.h"

namespace genbench {
namespace {

constexpr int64_t kGrain = 1 << 15;

// Host-side range check: cheap here, and the reason CPU calls fail with a clear message.
void check_timesteps(const at::Tensor& t, int64_t T, const char* op, const char* name,
                     int64_t lowest) {
  const int64_t* tp = t.const_data_ptr<int64_t>();
  for (int64_t n = 0; n < t.numel(); ++n)
    TORCH_CHECK_INDEX(tp[n] >= lowest && tp[n] < T, op, ": ", name, "[", n, "] = ", tp[n],
                      " is out of range [", lowest, ", ", T, ")");
}

// Calls body(n, begin, end) for each run of flat indices [begin, end) inside sample n.
template <typename F>
void for_each_sample_run(int64_t N, int64_t M, F&& body) {
  at::parallel_for(0, N * M, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end;) {
      const int64_t n = i / M;
      const int64_t stop = std::min(end, (n + 1) * M);
      body(n, i, stop);
      i = stop;
    }
  });
}

// Fills z[0, count) with the Philox normals of global indices [first, first + count).
void philox_fill(uint64_t seed, uint32_t stream, uint64_t first, int64_t count, float* z) {
  float four[4];
  uint64_t group = std::numeric_limits<uint64_t>::max();
  for (int64_t k = 0; k < count; ++k) {
    const uint64_t g = first + static_cast<uint64_t>(k);
    if ((g >> 2) != group) {
      group = g >> 2;
      philox_normal4(seed, group, stream, four);
    }
    z[k] = four[g & 3];
  }
}

// ---- leaf loops (one span of one sample; compiled per ISA) ---------------------------

template <typename scalar_t>
GB_CPU_CLONES void q_sample_span(const scalar_t* __restrict__ x, const scalar_t* __restrict__ noise,
                                 scalar_t* __restrict__ out, int64_t len, float a, float b) {
  for (int64_t i = 0; i < len; ++i)
    out[i] = static_cast<scalar_t>(a * static_cast<float>(x[i]) + b * static_cast<float>(noise[i]));
}

// Step::element(coefs, x, eps, z) is one element of a reverse step; z is null for a
// step without noise (DDIM with eta = 0). Clipping is part of the Step type: a run-time
// flag in the loop stops it from vectorizing.
template <typename scalar_t, typename noise_t, typename Step>
GB_CPU_CLONES void step_span(const scalar_t* __restrict__ x, const scalar_t* __restrict__ eps,
                             const noise_t* __restrict__ z, scalar_t* __restrict__ out,
                             int64_t len, const typename Step::Coefs c) {
  if (z) {
    for (int64_t i = 0; i < len; ++i)
      out[i] = static_cast<scalar_t>(Step::element(c, static_cast<float>(x[i]),
                                                   static_cast<float>(eps[i]), static_cast<float>(z[i])));
    return;
  }
  for (int64_t i = 0; i < len; ++i)
    out[i] = static_cast<scalar_t>(
        Step::element(c, static_cast<float>(x[i]), static_cast<float>(eps[i]), 0.f));
}

template <bool Clip>
struct DdpmStep {
  using Coefs = DdpmCoefs;
  static float element(const Coefs& c, float x, float e, float z) { return ddpm_element(x, e, z, c, Clip); }
};

template <bool Clip>
struct DdimStep {
  using Coefs = DdimCoefs;
  static float element(const Coefs& c, float x, float e, float z) { return ddim_element(x, e, z, c, Clip); }
};

// ---- ops -----------------------------------------------------------------------------

at::Tensor q_sample_cpu(const at::Tensor& x0_in, const at::Tensor& noise_in, const at::Tensor& t,
                        const at::Tensor& table) {
  const int64_t T = check_schedule_args(x0_in, noise_in, t, table, "q_sample", "noise");
  check_timesteps(t, T, "q_sample", "t", 0);
  const at::Tensor x0 = x0_in.contiguous(), noise = noise_in.contiguous();
  at::Tensor out = at::empty_like(x0, at::MemoryFormat::Contiguous);
  const int64_t N = x0.size(0), M = N ? x0.numel() / N : 0;
  const float* tab = table.const_data_ptr<float>();
  const int64_t* tp = t.const_data_ptr<int64_t>();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x0.scalar_type(), "q_sample_cpu", [&] {
    const scalar_t* xp = x0.const_data_ptr<scalar_t>();
    const scalar_t* np = noise.const_data_ptr<scalar_t>();
    scalar_t* op = out.mutable_data_ptr<scalar_t>();
    for_each_sample_run(N, M, [=](int64_t n, int64_t begin, int64_t end) {
      q_sample_span(xp + begin, np + begin, op + begin, end - begin,
                    tab[kSqrtAbar * T + tp[n]], tab[kSqrtOneMinusAbar * T + tp[n]]);
    });
  });
  return out;
}

// Shared driver of the two reverse steps: coefs[n] are sample n's coefficients.
template <typename Step>
at::Tensor reverse_step_cpu(const at::Tensor& x_t, const at::Tensor& eps,
                            const c10::optional<at::Tensor>& noise_in, bool need_noise,
                            const int64_t* stream_of_sample, int64_t seed, int64_t offset,
                            const std::vector<typename Step::Coefs>& coef_of_sample) {
  const at::Tensor x = x_t.contiguous(), e = eps.contiguous();
  at::Tensor out = at::empty_like(x, at::MemoryFormat::Contiguous);
  const int64_t N = x.size(0), M = N ? x.numel() / N : 0;
  at::Tensor noise;
  if (noise_in.has_value()) noise = noise_in->contiguous();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "reverse_step_cpu", [&] {
    const scalar_t* xp = x.const_data_ptr<scalar_t>();
    const scalar_t* ep = e.const_data_ptr<scalar_t>();
    const scalar_t* zp = noise.defined() ? noise.const_data_ptr<scalar_t>() : nullptr;
    scalar_t* op = out.mutable_data_ptr<scalar_t>();
    const auto* cp = coef_of_sample.data();
    for_each_sample_run(N, M, [=](int64_t n, int64_t begin, int64_t end) {
      if (zp || !need_noise) {
        step_span<scalar_t, scalar_t, Step>(xp + begin, ep + begin, zp ? zp + begin : nullptr,
                                            op + begin, end - begin, cp[n]);
        return;
      }
      // In-kernel noise: a chunk of Philox normals at a time, kept in float.
      constexpr int64_t kChunk = 1024;
      float z[kChunk];
      for (int64_t i = begin; i < end; i += kChunk) {
        const int64_t count = std::min(kChunk, end - i);
        philox_fill(static_cast<uint64_t>(seed),
                    static_cast<uint32_t>(stream_of_sample[n]),
                    static_cast<uint64_t>(offset) * static_cast<uint64_t>(M) + static_cast<uint64_t>(i),
                    count, z);
        step_span<scalar_t, float, Step>(xp + i, ep + i, z, op + i, count, cp[n]);
      }
    });
  });
  return out;
}

at::Tensor ddpm_step_cpu(const at::Tensor& x_t, const at::Tensor& eps, const at::Tensor& t,
                         const at::Tensor& table, const c10::optional<at::Tensor>& noise,
                         int64_t seed, int64_t offset, bool clip_x0) {
  const int64_t T = check_schedule_args(x_t, eps, t, table, "ddpm_step", "eps");
  check_noise(x_t, noise, "ddpm_step");
  check_timesteps(t, T, "ddpm_step", "t", 0);
  TORCH_CHECK_VALUE(offset >= 0, "ddpm_step: offset must be >= 0, got ", offset);
  const float* tab = table.const_data_ptr<float>();
  const int64_t* tp = t.const_data_ptr<int64_t>();
  std::vector<DdpmCoefs> coefs(t.numel());
  for (int64_t n = 0; n < t.numel(); ++n) coefs[n] = ddpm_coefs(tab, T, tp[n]);
  if (clip_x0) return reverse_step_cpu<DdpmStep<true>>(x_t, eps, noise, true, tp, seed, offset, coefs);
  return reverse_step_cpu<DdpmStep<false>>(x_t, eps, noise, true, tp, seed, offset, coefs);
}

at::Tensor ddim_step_cpu(const at::Tensor& x_t, const at::Tensor& eps, const at::Tensor& t,
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
  check_timesteps(t, T, "ddim_step", "t", 0);
  check_timesteps(t_prev, T, "ddim_step", "t_prev", -1);
  const float* tab = table.const_data_ptr<float>();
  const int64_t* tp = t.const_data_ptr<int64_t>();
  const int64_t* pp = t_prev.const_data_ptr<int64_t>();
  std::vector<DdimCoefs> coefs(t.numel());
  for (int64_t n = 0; n < t.numel(); ++n)
    coefs[n] = ddim_coefs(tab, T, tp[n], pp[n], static_cast<float>(eta));
  const bool need_noise = eta > 0.0;
  if (clip_x0) return reverse_step_cpu<DdimStep<true>>(x_t, eps, noise, need_noise, tp, seed, offset, coefs);
  return reverse_step_cpu<DdimStep<false>>(x_t, eps, noise, need_noise, tp, seed, offset, coefs);
}

}  // namespace

TORCH_LIBRARY_IMPL(genbench, CPU, m) {
  m.impl("q_sample", &q_sample_cpu);
  m.impl("ddpm_step", &ddpm_step_cpu);
  m.impl("ddim_step", &ddim_step_cpu);
}

}  // namespace genbench
