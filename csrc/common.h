// Shared by the CPU (.cpp) and CUDA (.cu) kernels: activation math, the upsample
// index/weight rules, the schedule-table layout and the Philox noise generator.
// Everything here is host+device so both backends compute the same function.
#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>

#if defined(__CUDACC__)
#define GB_HD __host__ __device__ __forceinline__
#else
#define GB_HD inline
#endif

namespace genbench {

enum class Act : int { Linear = 0, Relu = 1, LRelu = 2, Silu = 3 };
enum class Mode : int { Nearest = 0, Bilinear = 1 };

// Rows of the schedule table built by harness.ops.NoiseSchedule (shape [kTableRows, T]).
enum TableRow : int {
  kSqrtAbar = 0,
  kSqrtOneMinusAbar = 1,
  kSqrtRecipAbar = 2,
  kSqrtRecipm1Abar = 3,
  kPosteriorCoef1 = 4,
  kPosteriorCoef2 = 5,
  kPosteriorStd = 6,
  kAbar = 7,
  kTableRows = 8,
};

constexpr int kMaxScale = 8;

GB_HD float gb_exp(float v) { return expf(v); }
GB_HD double gb_exp(double v) { return exp(v); }

// acc_t is float for fp32/fp16/bf16 storage and double for float64 (gradcheck).
template <typename acc_t>
GB_HD acc_t act_forward(acc_t y, Act act, acc_t alpha) {
  switch (act) {
    case Act::Relu: return y > acc_t(0) ? y : acc_t(0);
    case Act::LRelu: return y > acc_t(0) ? y : alpha * y;
    case Act::Silu: return y / (acc_t(1) + gb_exp(-y));
    default: return y;
  }
}

template <typename acc_t>
GB_HD acc_t act_derivative(acc_t y, Act act, acc_t alpha) {
  switch (act) {
    case Act::Relu: return y > acc_t(0) ? acc_t(1) : acc_t(0);
    case Act::LRelu: return y > acc_t(0) ? acc_t(1) : alpha;
    case Act::Silu: {
      const acc_t s = acc_t(1) / (acc_t(1) + gb_exp(-y));
      return s * (acc_t(1) + y * (acc_t(1) - s));
    }
    default: return acc_t(1);
  }
}

// Source taps of output index `o` along one axis, as F.interpolate computes them
// (bilinear: align_corners=False, scale given as a factor, negative sources clamped).
struct Taps {
  int64_t i0, i1;
  float w0, w1;
};

GB_HD Taps source_taps(int64_t o, int64_t in_size, int scale, Mode mode) {
  if (mode == Mode::Nearest) {
    const int64_t i = o / scale;
    return {i, i, 1.f, 0.f};
  }
  // PyTorch multiplies by the float reciprocal of the factor; so do we, bit for bit.
  const float inv = static_cast<float>(1.0 / scale);
  float src = inv * (static_cast<float>(o) + 0.5f) - 0.5f;
  if (src < 0.f) src = 0.f;
  const int64_t i0 = static_cast<int64_t>(src);
  const int64_t i1 = i0 + (i0 < in_size - 1 ? 1 : 0);
  const float l1 = src - static_cast<float>(i0);
  return {i0, i1, 1.f - l1, l1};
}

// Weight with which input index `i` contributes to output index `o` along one axis.
GB_HD float tap_weight(int64_t o, int64_t i, int64_t in_size, int scale, Mode mode) {
  const Taps t = source_taps(o, in_size, scale, mode);
  return (t.i0 == i ? t.w0 : 0.f) + (t.i1 == i ? t.w1 : 0.f);
}

// The outputs that read input `i` lie in [first, last): a superset that the gather
// in the backward pass walks, letting tap_weight() zero the ones that don't.
GB_HD int64_t first_reader(int64_t i, int scale, Mode mode) {
  const int64_t lo = mode == Mode::Nearest ? i * scale : (i - 1) * scale;
  return lo < 0 ? 0 : lo;
}
GB_HD int64_t last_reader(int64_t i, int64_t in_size, int64_t out_size, int scale, Mode mode) {
  int64_t hi = mode == Mode::Nearest ? (i + 1) * scale : (i + 2) * scale;
  if (mode == Mode::Bilinear && i == in_size - 1) hi = out_size;  // clamped taps at the edge
  return hi > out_size ? out_size : hi;
}

// Philox4x32-10 (Salmon et al., SC'11): a counter-based generator, so the noise of
// an element depends only on (seed, element index, timestep), never on batching.
struct Philox4 {
  uint32_t v[4];
};

GB_HD uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
  const uint64_t p = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

GB_HD Philox4 philox4x32_10(uint64_t seed, uint64_t counter, uint32_t stream) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
  uint32_t c2 = stream, c3 = 0u;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
#pragma unroll
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, hi1;
    const uint32_t lo0 = mulhilo(0xD2511F53u, c0, &hi0);
    const uint32_t lo1 = mulhilo(0xCD9E8D57u, c2, &hi1);
    const uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

GB_HD float uint_to_unit(uint32_t x) {
  // (0, 1): never 0, so log() below is finite.
  return static_cast<float>(x) * 2.3283064365386963e-10f + 1.1641532182693481e-10f;
}

// Four standard normals for the group of four elements starting at 4*group.
GB_HD void philox_normal4(uint64_t seed, uint64_t group, uint32_t stream, float out[4]) {
  const Philox4 r = philox4x32_10(seed, group, stream);
  constexpr float kTwoPi = 6.283185307179586f;
#pragma unroll
  for (int p = 0; p < 2; ++p) {
    const float rad = sqrtf(-2.f * logf(uint_to_unit(r.v[2 * p])));
    const float ang = kTwoPi * uint_to_unit(r.v[2 * p + 1]);
    out[2 * p] = rad * cosf(ang);
    out[2 * p + 1] = rad * sinf(ang);
  }
}

GB_HD float philox_normal(uint64_t seed, uint64_t index, uint32_t stream) {
  float z[4];
  philox_normal4(seed, index >> 2, stream, z);
  return z[index & 3];
}

// Clip to [-1, 1] with compares (NaN passes through, as torch.clamp): unlike fminf/fmaxf,
// which are library calls on the CPU, this vectorizes.
GB_HD float clamp_unit(float v) {
  const float lo = v < -1.f ? -1.f : v;
  return lo > 1.f ? 1.f : lo;
}

// One DDPM reverse step (Ho et al. 2020, eq. 11 via the x0 form), split into the
// per-sample coefficients and the per-element math so loops can hoist the former.
struct DdpmCoefs {
  float recip, recipm1, coef1, coef2, std;
};

GB_HD DdpmCoefs ddpm_coefs(const float* table, int64_t T, int64_t t) {
  return {table[kSqrtRecipAbar * T + t], table[kSqrtRecipm1Abar * T + t],
          table[kPosteriorCoef1 * T + t], table[kPosteriorCoef2 * T + t],
          table[kPosteriorStd * T + t]};
}

GB_HD float ddpm_element(float x, float eps, float z, const DdpmCoefs& c, bool clip) {
  float x0 = c.recip * x - c.recipm1 * eps;
  if (clip) x0 = clamp_unit(x0);
  return c.coef1 * x0 + c.coef2 * x + c.std * z;
}

struct DdimCoefs {
  float sqrt_abar, sqrt_one_minus_abar, sqrt_abar_prev, dir, sigma;
};

// Song et al. 2021, eq. 12; t_prev < 0 means the final step (abar_prev = 1).
GB_HD DdimCoefs ddim_coefs(const float* table, int64_t T, int64_t t, int64_t t_prev, float eta) {
  const float abar = table[kAbar * T + t];
  const float abar_prev = t_prev >= 0 ? table[kAbar * T + t_prev] : 1.f;
  const float var = (1.f - abar_prev) / (1.f - abar) * (1.f - abar / abar_prev);
  const float sigma = eta * sqrtf(fmaxf(var, 0.f));
  return {sqrtf(abar), sqrtf(1.f - abar), sqrtf(abar_prev),
          sqrtf(fmaxf(1.f - abar_prev - sigma * sigma, 0.f)), sigma};
}

GB_HD float ddim_element(float x, float eps, float z, const DdimCoefs& c, bool clip) {
  float x0 = (x - c.sqrt_one_minus_abar * eps) / c.sqrt_abar;
  if (clip) x0 = clamp_unit(x0);
  return c.sqrt_abar_prev * x0 + c.dir * eps + c.sigma * z;
}

}  // namespace genbench
