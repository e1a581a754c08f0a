// CPU kernels of bias_act_upsample: out = upsample(gain * act(x + bias)).
// Forward activates each input once (into a small per-thread buffer, except for nearest
// x2, which writes its 2x2 blocks straight away) and writes every output element once. Backward is a separable gather (along W, then H), so no
// output location is ever accumulated into by two threads.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "checks.h"
#include "cpu_isa.h"

namespace genbench {
namespace {

struct Problem {
  int64_t N, C, H, W, OH, OW;
  int s;
  Mode mode;
  Act act;
};

template <typename F>
void with_act(Act act, F&& f) {
  switch (act) {
    case Act::Linear: f(std::integral_constant<Act, Act::Linear>{}); break;
    case Act::Relu: f(std::integral_constant<Act, Act::Relu>{}); break;
    case Act::LRelu: f(std::integral_constant<Act, Act::LRelu>{}); break;
    case Act::Silu: f(std::integral_constant<Act, Act::Silu>{}); break;
  }
}

std::vector<Taps> axis_taps(int64_t out_size, int64_t in_size, int s, Mode mode) {
  std::vector<Taps> taps(out_size);
  for (int64_t o = 0; o < out_size; ++o) taps[o] = source_taps(o, in_size, s, mode);
  return taps;
}

// For each input index: the outputs that read it and with which weight (gather lists).
struct Readers {
  std::vector<int64_t> start;  // size in+1, offsets into `out` / `weight`
  std::vector<int64_t> out;
  std::vector<float> weight;
};

Readers axis_readers(int64_t in_size, int64_t out_size, int s, Mode mode) {
  Readers r;
  r.start.push_back(0);
  for (int64_t i = 0; i < in_size; ++i) {
    for (int64_t o = first_reader(i, s, mode); o < last_reader(i, in_size, out_size, s, mode); ++o) {
      const float w = tap_weight(o, i, in_size, s, mode);
      if (w != 0.f) {
        r.out.push_back(o);
        r.weight.push_back(w);
      }
    }
    r.start.push_back(static_cast<int64_t>(r.out.size()));
  }
  return r;
}

// ---- forward ---------------------------------------------------------------------
// Each parallel_for body calls a leaf function for one plane (NCHW) or one sample (NHWC):
// the leaves are compiled per ISA (cpu_isa.h), a lambda body would not be.

// Nearest with the factor S known at compile time (S = 2 is every decoder's case):
// activation and the S x S replication in one pass over the plane, with no staging
// buffer and no row copies, so the stores vectorize.
template <typename scalar_t, Act A, int S>
GB_CPU_CLONES void nearest_plane_fixed(const scalar_t* __restrict__ x, scalar_t* __restrict__ out,
                                       int64_t H, int64_t W, at::opmath_type<scalar_t> b,
                                       at::opmath_type<scalar_t> alpha, at::opmath_type<scalar_t> gain) {
  using acc_t = at::opmath_type<scalar_t>;
  const int64_t OW = W * S;
  for (int64_t ih = 0; ih < H; ++ih) {
    const scalar_t* __restrict__ xr = x + ih * W;
    scalar_t* __restrict__ rows = out + ih * S * OW;
    for (int64_t iw = 0; iw < W; ++iw) {
      const scalar_t v = static_cast<scalar_t>(gain * act_forward<acc_t>(static_cast<acc_t>(xr[iw]) + b, A, alpha));
      for (int r = 0; r < S; ++r)
        for (int k = 0; k < S; ++k) rows[r * OW + iw * S + k] = v;
    }
  }
}

template <typename scalar_t, Act A>
GB_CPU_CLONES void forward_plane(const Problem& p, const scalar_t* __restrict__ x,
                                 scalar_t* __restrict__ out, at::opmath_type<scalar_t> b,
                                 at::opmath_type<scalar_t> alpha, at::opmath_type<scalar_t> gain,
                                 const Taps* ht, const Taps* wt, at::opmath_type<scalar_t>* __restrict__ a,
                                 at::opmath_type<scalar_t>* __restrict__ horiz) {
  using acc_t = at::opmath_type<scalar_t>;
  for (int64_t i = 0; i < p.H * p.W; ++i) a[i] = gain * act_forward<acc_t>(static_cast<acc_t>(x[i]) + b, A, alpha);
  if (p.mode == Mode::Nearest) {
    for (int64_t ih = 0; ih < p.H; ++ih) {
      scalar_t* __restrict__ row = out + ih * p.s * p.OW;
      const acc_t* __restrict__ ar = a + ih * p.W;
      for (int64_t iw = 0; iw < p.W; ++iw)
        for (int k = 0; k < p.s; ++k) row[iw * p.s + k] = static_cast<scalar_t>(ar[iw]);
      for (int r = 1; r < p.s; ++r) std::memcpy(row + r * p.OW, row, p.OW * sizeof(scalar_t));
    }
    return;
  }
  // Bilinear: each input row interpolated along W once ("horizontal"), then every output
  // row is a blend of two of those: h0 * (w0 * a00 + w1 * a01) + h1 * (w0 * a10 + w1 * a11),
  // F.interpolate's weights, though not its order of operations (it agrees to ~1 ulp).
  for (int64_t ih = 0; ih < p.H; ++ih) {
    const acc_t* __restrict__ ar = a + ih * p.W;
    acc_t* __restrict__ hr = horiz + ih * p.OW;
    if (p.s != 2) {
      for (int64_t ow = 0; ow < p.OW; ++ow) hr[ow] = acc_t(wt[ow].w0) * ar[wt[ow].i0] + acc_t(wt[ow].w1) * ar[wt[ow].i1];
      continue;
    }
    // x2: interior columns have the constant weights 0.25 / 0.75 (exact in float, so the
    // sums are the taps' w0 * a[i0] + w1 * a[i1] bit for bit); only the two edge columns
    // need the clamped taps. Without the tap gathers the loop vectorizes.
    const Taps first = wt[0], last = wt[p.OW - 1];
    hr[0] = acc_t(first.w0) * ar[first.i0] + acc_t(first.w1) * ar[first.i1];
    for (int64_t iw = 0; iw + 1 < p.W; ++iw) {
      hr[2 * iw + 1] = acc_t(0.75f) * ar[iw] + acc_t(0.25f) * ar[iw + 1];
      hr[2 * iw + 2] = acc_t(0.25f) * ar[iw] + acc_t(0.75f) * ar[iw + 1];
    }
    hr[p.OW - 1] = acc_t(last.w0) * ar[last.i0] + acc_t(last.w1) * ar[last.i1];
  }
  for (int64_t oh = 0; oh < p.OH; ++oh) {
    const Taps th = ht[oh];
    const acc_t* __restrict__ r0 = horiz + th.i0 * p.OW;
    const acc_t* __restrict__ r1 = horiz + th.i1 * p.OW;
    scalar_t* __restrict__ row = out + oh * p.OW;
    const acc_t h0 = th.w0, h1 = th.w1;
    for (int64_t ow = 0; ow < p.OW; ++ow) row[ow] = static_cast<scalar_t>(h0 * r0[ow] + h1 * r1[ow]);
  }
}

template <typename scalar_t, Act A>
void forward_nchw(const Problem& p, const scalar_t* x, const scalar_t* bias, scalar_t* out,
                  float alpha_f, float gain_f) {
  using acc_t = at::opmath_type<scalar_t>;
  const acc_t alpha = alpha_f, gain = gain_f;
  const int64_t in_plane = p.H * p.W, out_plane = p.OH * p.OW;
  if (p.mode == Mode::Nearest && p.s == 2) {
    at::parallel_for(0, p.N * p.C, 1, [&](int64_t begin, int64_t end) {
      for (int64_t plane = begin; plane < end; ++plane)
        nearest_plane_fixed<scalar_t, A, 2>(x + plane * in_plane, out + plane * out_plane, p.H, p.W,
                                            static_cast<acc_t>(bias[plane % p.C]), alpha, gain);
    });
    return;
  }
  const auto ht = axis_taps(p.OH, p.H, p.s, p.mode), wt = axis_taps(p.OW, p.W, p.s, p.mode);
  at::parallel_for(0, p.N * p.C, 1, [&](int64_t begin, int64_t end) {
    std::vector<acc_t> a(in_plane), horiz(p.mode == Mode::Bilinear ? p.H * p.OW : 0);
    for (int64_t plane = begin; plane < end; ++plane)
      forward_plane<scalar_t, A>(p, x + plane * in_plane, out + plane * out_plane,
                                 static_cast<acc_t>(bias[plane % p.C]), alpha, gain, ht.data(),
                                 wt.data(), a.data(), horiz.data());
  });
}

template <typename scalar_t, Act A>
GB_CPU_CLONES void forward_sample_nhwc(const Problem& p, const scalar_t* __restrict__ xn,
                                       scalar_t* __restrict__ on, const at::opmath_type<scalar_t>* bf,
                                       at::opmath_type<scalar_t> alpha, at::opmath_type<scalar_t> gain,
                                       const Taps* ht, const Taps* wt,
                                       at::opmath_type<scalar_t>* __restrict__ a) {
  using acc_t = at::opmath_type<scalar_t>;
  const int64_t C = p.C;
  for (int64_t pix = 0; pix < p.H * p.W; ++pix)
    for (int64_t c = 0; c < C; ++c)
      a[pix * C + c] = gain * act_forward<acc_t>(static_cast<acc_t>(xn[pix * C + c]) + bf[c], A, alpha);
  for (int64_t oh = 0; oh < p.OH; ++oh) {
    const Taps th = ht[oh];
    for (int64_t ow = 0; ow < p.OW; ++ow) {
      const Taps tw = wt[ow];
      scalar_t* __restrict__ o = on + (oh * p.OW + ow) * C;
      const acc_t* a00 = a + (th.i0 * p.W + tw.i0) * C;
      if (p.mode == Mode::Nearest) {
        for (int64_t c = 0; c < C; ++c) o[c] = static_cast<scalar_t>(a00[c]);
        continue;
      }
      const acc_t* a01 = a + (th.i0 * p.W + tw.i1) * C;
      const acc_t* a10 = a + (th.i1 * p.W + tw.i0) * C;
      const acc_t* a11 = a + (th.i1 * p.W + tw.i1) * C;
      const acc_t h0 = th.w0, h1 = th.w1, w0 = tw.w0, w1 = tw.w1;
      for (int64_t c = 0; c < C; ++c)
        o[c] = static_cast<scalar_t>(h0 * (w0 * a00[c] + w1 * a01[c]) + h1 * (w0 * a10[c] + w1 * a11[c]));
    }
  }
}

template <typename scalar_t, Act A>
void forward_nhwc(const Problem& p, const scalar_t* x, const scalar_t* bias, scalar_t* out,
                  float alpha_f, float gain_f) {
  using acc_t = at::opmath_type<scalar_t>;
  const auto ht = axis_taps(p.OH, p.H, p.s, p.mode), wt = axis_taps(p.OW, p.W, p.s, p.mode);
  std::vector<acc_t> bf(p.C);
  for (int64_t c = 0; c < p.C; ++c) bf[c] = static_cast<acc_t>(bias[c]);
  at::parallel_for(0, p.N, 1, [&](int64_t begin, int64_t end) {
    std::vector<acc_t> a(p.H * p.W * p.C);
    for (int64_t n = begin; n < end; ++n)
      forward_sample_nhwc<scalar_t, A>(p, x + n * p.H * p.W * p.C, out + n * p.OH * p.OW * p.C, bf.data(),
                                       alpha_f, gain_f, ht.data(), wt.data(), a.data());
  });
}

// ---- backward --------------------------------------------------------------------

template <typename scalar_t, Act A>
GB_CPU_CLONES void backward_plane(const Problem& p, const Readers& rh, const Readers& rw,
                                  const scalar_t* __restrict__ g, const scalar_t* __restrict__ xp,
                                  scalar_t* __restrict__ gx, at::opmath_type<scalar_t> b,
                                  at::opmath_type<scalar_t> alpha, at::opmath_type<scalar_t> gain,
                                  at::opmath_type<scalar_t>* __restrict__ along_w,
                                  at::opmath_type<scalar_t>* __restrict__ sum_row, double* plane_sum_out) {
  using acc_t = at::opmath_type<scalar_t>;
  // grad summed over each input column's readers, for every output row
  for (int64_t oh = 0; oh < p.OH; ++oh) {
    const scalar_t* grow = g + oh * p.OW;
    acc_t* trow = along_w + oh * p.W;
    for (int64_t iw = 0; iw < p.W; ++iw) {
      acc_t sum = 0;
      for (int64_t k = rw.start[iw]; k < rw.start[iw + 1]; ++k)
        sum += acc_t(rw.weight[k]) * static_cast<acc_t>(grow[rw.out[k]]);
      trow[iw] = sum;
    }
  }
  double plane_sum = 0;
  for (int64_t ih = 0; ih < p.H; ++ih) {
    std::fill(sum_row, sum_row + p.W, acc_t(0));
    for (int64_t k = rh.start[ih]; k < rh.start[ih + 1]; ++k) {  // whole rows: vectorizes
      const acc_t w = rh.weight[k];
      const acc_t* __restrict__ src = along_w + rh.out[k] * p.W;
      for (int64_t iw = 0; iw < p.W; ++iw) sum_row[iw] += w * src[iw];
    }
    const scalar_t* __restrict__ xr = xp + ih * p.W;
    scalar_t* __restrict__ gr = gx + ih * p.W;
    for (int64_t iw = 0; iw < p.W; ++iw)
      gr[iw] = static_cast<scalar_t>(gain * act_derivative<acc_t>(static_cast<acc_t>(xr[iw]) + b, A, alpha) * sum_row[iw]);
    for (int64_t iw = 0; iw < p.W; ++iw) plane_sum += static_cast<double>(static_cast<acc_t>(gr[iw]));
  }
  *plane_sum_out = plane_sum;
}

template <typename scalar_t, Act A>
void backward_nchw(const Problem& p, const scalar_t* grad, const scalar_t* x,
                   const scalar_t* bias, scalar_t* grad_x, double* plane_sums, float alpha_f,
                   float gain_f) {
  using acc_t = at::opmath_type<scalar_t>;
  const Readers rh = axis_readers(p.H, p.OH, p.s, p.mode);
  const Readers rw = axis_readers(p.W, p.OW, p.s, p.mode);
  at::parallel_for(0, p.N * p.C, 1, [&](int64_t begin, int64_t end) {
    std::vector<acc_t> along_w(p.OH * p.W), sum_row(p.W);
    for (int64_t plane = begin; plane < end; ++plane)
      backward_plane<scalar_t, A>(p, rh, rw, grad + plane * p.OH * p.OW, x + plane * p.H * p.W,
                                  grad_x + plane * p.H * p.W, static_cast<acc_t>(bias[plane % p.C]),
                                  alpha_f, gain_f, along_w.data(), sum_row.data(), plane_sums + plane);
  });
}

template <typename scalar_t, Act A>
GB_CPU_CLONES void backward_sample_nhwc(const Problem& p, const Readers& rh, const Readers& rw,
                                        const scalar_t* __restrict__ g, const scalar_t* __restrict__ xn,
                                        const scalar_t* __restrict__ bias, scalar_t* __restrict__ gxn,
                                        double* __restrict__ bsum, at::opmath_type<scalar_t> alpha,
                                        at::opmath_type<scalar_t> gain,
                                        at::opmath_type<scalar_t>* __restrict__ along_w,
                                        at::opmath_type<scalar_t>* __restrict__ sum) {
  using acc_t = at::opmath_type<scalar_t>;
  const int64_t C = p.C;
  for (int64_t oh = 0; oh < p.OH; ++oh) {
    for (int64_t iw = 0; iw < p.W; ++iw) {
      std::fill(sum, sum + C, acc_t(0));
      for (int64_t k = rw.start[iw]; k < rw.start[iw + 1]; ++k) {
        const acc_t w = rw.weight[k];
        const scalar_t* gp = g + (oh * p.OW + rw.out[k]) * C;
        for (int64_t c = 0; c < C; ++c) sum[c] += w * static_cast<acc_t>(gp[c]);
      }
      std::copy(sum, sum + C, along_w + (oh * p.W + iw) * C);
    }
  }
  std::fill(bsum, bsum + C, 0.0);
  for (int64_t ih = 0; ih < p.H; ++ih) {
    for (int64_t iw = 0; iw < p.W; ++iw) {
      std::fill(sum, sum + C, acc_t(0));
      for (int64_t k = rh.start[ih]; k < rh.start[ih + 1]; ++k) {
        const acc_t w = rh.weight[k];
        const acc_t* tp = along_w + (rh.out[k] * p.W + iw) * C;
        for (int64_t c = 0; c < C; ++c) sum[c] += w * tp[c];
      }
      const int64_t base = (ih * p.W + iw) * C;
      for (int64_t c = 0; c < C; ++c) {
        const acc_t y = static_cast<acc_t>(xn[base + c]) + static_cast<acc_t>(bias[c]);
        const scalar_t v = static_cast<scalar_t>(gain * act_derivative<acc_t>(y, A, alpha) * sum[c]);
        gxn[base + c] = v;
        bsum[c] += static_cast<double>(static_cast<acc_t>(v));
      }
    }
  }
}

template <typename scalar_t, Act A>
void backward_nhwc(const Problem& p, const scalar_t* grad, const scalar_t* x,
                   const scalar_t* bias, scalar_t* grad_x, double* plane_sums, float alpha_f,
                   float gain_f) {
  using acc_t = at::opmath_type<scalar_t>;
  const Readers rh = axis_readers(p.H, p.OH, p.s, p.mode);
  const Readers rw = axis_readers(p.W, p.OW, p.s, p.mode);
  at::parallel_for(0, p.N, 1, [&](int64_t begin, int64_t end) {
    std::vector<acc_t> along_w(p.OH * p.W * p.C), sum(p.C);
    for (int64_t n = begin; n < end; ++n)
      backward_sample_nhwc<scalar_t, A>(p, rh, rw, grad + n * p.OH * p.OW * p.C, x + n * p.H * p.W * p.C,
                                        bias, grad_x + n * p.H * p.W * p.C, plane_sums + n * p.C,
                                        alpha_f, gain_f, along_w.data(), sum.data());
  });
}

Problem make_problem(const at::Tensor& x, int64_t scale, std::string_view mode,
                     std::string_view act) {
  const int s = static_cast<int>(scale);
  return {x.size(0), x.size(1), x.size(2), x.size(3), x.size(2) * s, x.size(3) * s, s,
          parse_mode(mode), parse_act(act)};
}

at::Tensor bias_act_upsample_cpu(const at::Tensor& x_in, const at::Tensor& bias_in,
                                 c10::string_view act, double alpha, double gain, int64_t scale,
                                 c10::string_view mode) {
  const auto fmt = check_bias_act_upsample(x_in, bias_in, scale, "bias_act_upsample");
  const Problem p = make_problem(x_in, scale, mode, act);
  const at::Tensor x = x_in.contiguous(fmt), bias = bias_in.contiguous();
  at::Tensor out = at::empty({p.N, p.C, p.OH, p.OW}, x.options().memory_format(fmt));
  if (out.numel() == 0) return out;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "bias_act_upsample_cpu", [&] {
    with_act(p.act, [&](auto a) {
      constexpr Act A = decltype(a)::value;
      if (fmt == at::MemoryFormat::ChannelsLast)
        forward_nhwc<scalar_t, A>(p, x.const_data_ptr<scalar_t>(), bias.const_data_ptr<scalar_t>(),
                                  out.mutable_data_ptr<scalar_t>(), alpha, gain);
      else
        forward_nchw<scalar_t, A>(p, x.const_data_ptr<scalar_t>(), bias.const_data_ptr<scalar_t>(),
                                  out.mutable_data_ptr<scalar_t>(), alpha, gain);
    });
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor> bias_act_upsample_backward_cpu(
    const at::Tensor& grad_in, const at::Tensor& x_in, const at::Tensor& bias_in,
    c10::string_view act, double alpha, double gain, int64_t scale, c10::string_view mode) {
  const auto fmt = check_bias_act_upsample(x_in, bias_in, scale, "bias_act_upsample_backward");
  const Problem p = make_problem(x_in, scale, mode, act);
  TORCH_CHECK_VALUE(grad_in.sizes() == at::IntArrayRef({p.N, p.C, p.OH, p.OW}),
                    "bias_act_upsample_backward: grad must have the output's shape");
  const at::Tensor x = x_in.contiguous(fmt), bias = bias_in.contiguous();
  const at::Tensor grad = grad_in.to(x.scalar_type()).contiguous(fmt);
  at::Tensor grad_x = at::empty_like(x, x.options().memory_format(fmt));
  const bool nhwc = fmt == at::MemoryFormat::ChannelsLast;
  // Per-(n, c) partial sums of grad_x, reduced over n in a fixed order: deterministic.
  at::Tensor partial = at::zeros({p.N, p.C}, x.options().dtype(at::kDouble));
  if (x.numel() > 0) {
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "bias_act_upsample_backward_cpu", [&] {
      with_act(p.act, [&](auto a) {
        constexpr Act A = decltype(a)::value;
        auto fn = nhwc ? backward_nhwc<scalar_t, A> : backward_nchw<scalar_t, A>;
        fn(p, grad.const_data_ptr<scalar_t>(), x.const_data_ptr<scalar_t>(),
           bias.const_data_ptr<scalar_t>(), grad_x.mutable_data_ptr<scalar_t>(),
           partial.mutable_data_ptr<double>(), alpha, gain);
      });
    });
  }
  return {grad_x, partial.sum(0).to(bias.scalar_type())};
}

}  // namespace

TORCH_LIBRARY_IMPL(genbench, CPU, m) {
  m.impl("bias_act_upsample", &bias_act_upsample_cpu);
  m.impl("bias_act_upsample_backward", &bias_act_upsample_backward_cpu);
}

}  // namespace genbench
