// CPU kernels of bias_act_upsample: out = upsample(gain * act(x + bias)).
// Forward activates each input once into a small per-thread buffer, then writes every
// output element exactly once. Backward is a separable gather (along W, then H), so no
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

template <typename scalar_t, Act A>
void forward_nchw(const Problem& p, const scalar_t* x, const scalar_t* bias, scalar_t* out,
                  float alpha_f, float gain_f) {
  using acc_t = at::opmath_type<scalar_t>;
  const acc_t alpha = alpha_f, gain = gain_f;
  const auto ht = axis_taps(p.OH, p.H, p.s, p.mode), wt = axis_taps(p.OW, p.W, p.s, p.mode);
  at::parallel_for(0, p.N * p.C, 1, [&](int64_t begin, int64_t end) {
    std::vector<acc_t> a(p.H * p.W);
    // Bilinear: each input row interpolated along W once ("horizontal"), then every
    // output row is a blend of two of those. The arithmetic is F.interpolate's:
    // h0 * (w0 * a00 + w1 * a01) + h1 * (w0 * a10 + w1 * a11).
    std::vector<acc_t> horiz(p.mode == Mode::Bilinear ? p.H * p.OW : 0);
    for (int64_t plane = begin; plane < end; ++plane) {
      const acc_t b = static_cast<acc_t>(bias[plane % p.C]);
      const scalar_t* xp = x + plane * p.H * p.W;
      for (int64_t i = 0; i < p.H * p.W; ++i)
        a[i] = gain * act_forward<acc_t>(static_cast<acc_t>(xp[i]) + b, A, alpha);
      scalar_t* op = out + plane * p.OH * p.OW;
      if (p.mode == Mode::Nearest) {
        for (int64_t ih = 0; ih < p.H; ++ih) {
          scalar_t* __restrict__ row = op + ih * p.s * p.OW;
          const acc_t* __restrict__ ar = a.data() + ih * p.W;
          for (int64_t iw = 0; iw < p.W; ++iw)
            for (int k = 0; k < p.s; ++k) row[iw * p.s + k] = static_cast<scalar_t>(ar[iw]);
          for (int r = 1; r < p.s; ++r) std::memcpy(row + r * p.OW, row, p.OW * sizeof(scalar_t));
        }
        continue;
      }
      for (int64_t ih = 0; ih < p.H; ++ih) {
        const acc_t* ar = a.data() + ih * p.W;
        acc_t* hr = horiz.data() + ih * p.OW;
        for (int64_t ow = 0; ow < p.OW; ++ow) {
          const Taps tw = wt[ow];
          hr[ow] = acc_t(tw.w0) * ar[tw.i0] + acc_t(tw.w1) * ar[tw.i1];
        }
      }
      for (int64_t oh = 0; oh < p.OH; ++oh) {
        const Taps th = ht[oh];
        const acc_t* __restrict__ r0 = horiz.data() + th.i0 * p.OW;
        const acc_t* __restrict__ r1 = horiz.data() + th.i1 * p.OW;
        scalar_t* __restrict__ row = op + oh * p.OW;
        const acc_t h0 = th.w0, h1 = th.w1;
        for (int64_t ow = 0; ow < p.OW; ++ow) row[ow] = static_cast<scalar_t>(h0 * r0[ow] + h1 * r1[ow]);
      }
    }
  });
}

template <typename scalar_t, Act A>
void forward_nhwc(const Problem& p, const scalar_t* x, const scalar_t* bias, scalar_t* out,
                  float alpha_f, float gain_f) {
  using acc_t = at::opmath_type<scalar_t>;
  const acc_t alpha = alpha_f, gain = gain_f;
  const int64_t C = p.C;
  const auto ht = axis_taps(p.OH, p.H, p.s, p.mode), wt = axis_taps(p.OW, p.W, p.s, p.mode);
  std::vector<acc_t> bf(C);
  for (int64_t c = 0; c < C; ++c) bf[c] = static_cast<acc_t>(bias[c]);
  at::parallel_for(0, p.N, 1, [&](int64_t begin, int64_t end) {
    std::vector<acc_t> a(p.H * p.W * C);
    for (int64_t n = begin; n < end; ++n) {
      const scalar_t* xn = x + n * p.H * p.W * C;
      for (int64_t pix = 0; pix < p.H * p.W; ++pix)
        for (int64_t c = 0; c < C; ++c)
          a[pix * C + c] =
              gain * act_forward<acc_t>(static_cast<acc_t>(xn[pix * C + c]) + bf[c], A, alpha);
      scalar_t* on = out + n * p.OH * p.OW * C;
      for (int64_t oh = 0; oh < p.OH; ++oh) {
        const Taps th = ht[oh];
        for (int64_t ow = 0; ow < p.OW; ++ow) {
          const Taps tw = wt[ow];
          scalar_t* o = on + (oh * p.OW + ow) * C;
          const acc_t* a00 = a.data() + (th.i0 * p.W + tw.i0) * C;
          if (p.mode == Mode::Nearest) {
            for (int64_t c = 0; c < C; ++c) o[c] = static_cast<scalar_t>(a00[c]);
            continue;
          }
          const acc_t* a01 = a.data() + (th.i0 * p.W + tw.i1) * C;
          const acc_t* a10 = a.data() + (th.i1 * p.W + tw.i0) * C;
          const acc_t* a11 = a.data() + (th.i1 * p.W + tw.i1) * C;
          const acc_t h0 = th.w0, h1 = th.w1, w0 = tw.w0, w1 = tw.w1;
          for (int64_t c = 0; c < C; ++c)
            o[c] = static_cast<scalar_t>(h0 * (w0 * a00[c] + w1 * a01[c]) +
                                         h1 * (w0 * a10[c] + w1 * a11[c]));
        }
      }
    }
  });
}

// ---- backward --------------------------------------------------------------------

template <typename scalar_t, Act A>
void backward_nchw(const Problem& p, const scalar_t* grad, const scalar_t* x,
                   const scalar_t* bias, scalar_t* grad_x, double* plane_sums, float alpha_f,
                   float gain_f) {
  using acc_t = at::opmath_type<scalar_t>;
  const acc_t alpha = alpha_f, gain = gain_f;
  const Readers rh = axis_readers(p.H, p.OH, p.s, p.mode);
  const Readers rw = axis_readers(p.W, p.OW, p.s, p.mode);
  at::parallel_for(0, p.N * p.C, 1, [&](int64_t begin, int64_t end) {
    std::vector<acc_t> along_w(p.OH * p.W);  // grad summed over each input column's readers
    std::vector<acc_t> sum_row(p.W);
    for (int64_t plane = begin; plane < end; ++plane) {
      const scalar_t* g = grad + plane * p.OH * p.OW;
      for (int64_t oh = 0; oh < p.OH; ++oh) {
        const scalar_t* grow = g + oh * p.OW;
        acc_t* trow = along_w.data() + oh * p.W;
        for (int64_t iw = 0; iw < p.W; ++iw) {
          acc_t sum = 0;
          for (int64_t k = rw.start[iw]; k < rw.start[iw + 1]; ++k)
            sum += acc_t(rw.weight[k]) * static_cast<acc_t>(grow[rw.out[k]]);
          trow[iw] = sum;
        }
      }
      const acc_t b = static_cast<acc_t>(bias[plane % p.C]);
      const scalar_t* xp = x + plane * p.H * p.W;
      scalar_t* gx = grad_x + plane * p.H * p.W;
      double plane_sum = 0;
      for (int64_t ih = 0; ih < p.H; ++ih) {
        acc_t* __restrict__ acc = sum_row.data();
        std::fill(acc, acc + p.W, acc_t(0));
        for (int64_t k = rh.start[ih]; k < rh.start[ih + 1]; ++k) {  // whole rows: vectorizes
          const acc_t w = rh.weight[k];
          const acc_t* __restrict__ src = along_w.data() + rh.out[k] * p.W;
          for (int64_t iw = 0; iw < p.W; ++iw) acc[iw] += w * src[iw];
        }
        const scalar_t* __restrict__ xr = xp + ih * p.W;
        scalar_t* __restrict__ gr = gx + ih * p.W;
        for (int64_t iw = 0; iw < p.W; ++iw)
          gr[iw] = static_cast<scalar_t>(gain * act_derivative<acc_t>(static_cast<acc_t>(xr[iw]) + b, A, alpha) * acc[iw]);
        for (int64_t iw = 0; iw < p.W; ++iw) plane_sum += static_cast<double>(static_cast<acc_t>(gr[iw]));
      }
      plane_sums[plane] = plane_sum;
    }
  });
}

template <typename scalar_t, Act A>
void backward_nhwc(const Problem& p, const scalar_t* grad, const scalar_t* x,
                   const scalar_t* bias, scalar_t* grad_x, double* plane_sums, float alpha_f,
                   float gain_f) {
  using acc_t = at::opmath_type<scalar_t>;
  const acc_t alpha = alpha_f, gain = gain_f;
  const int64_t C = p.C;
  const Readers rh = axis_readers(p.H, p.OH, p.s, p.mode);
  const Readers rw = axis_readers(p.W, p.OW, p.s, p.mode);
  at::parallel_for(0, p.N, 1, [&](int64_t begin, int64_t end) {
    std::vector<acc_t> along_w(p.OH * p.W * C);
    std::vector<acc_t> sum(C);
    for (int64_t n = begin; n < end; ++n) {
      const scalar_t* g = grad + n * p.OH * p.OW * C;
      for (int64_t oh = 0; oh < p.OH; ++oh) {
        for (int64_t iw = 0; iw < p.W; ++iw) {
          std::fill(sum.begin(), sum.end(), acc_t(0));
          for (int64_t k = rw.start[iw]; k < rw.start[iw + 1]; ++k) {
            const acc_t w = rw.weight[k];
            const scalar_t* gp = g + (oh * p.OW + rw.out[k]) * C;
            for (int64_t c = 0; c < C; ++c) sum[c] += w * static_cast<acc_t>(gp[c]);
          }
          std::copy(sum.begin(), sum.end(), along_w.begin() + (oh * p.W + iw) * C);
        }
      }
      const scalar_t* xn = x + n * p.H * p.W * C;
      scalar_t* gxn = grad_x + n * p.H * p.W * C;
      double* bsum = plane_sums + n * C;
      std::fill(bsum, bsum + C, 0.0);
      for (int64_t ih = 0; ih < p.H; ++ih) {
        for (int64_t iw = 0; iw < p.W; ++iw) {
          std::fill(sum.begin(), sum.end(), acc_t(0));
          for (int64_t k = rh.start[ih]; k < rh.start[ih + 1]; ++k) {
            const acc_t w = rh.weight[k];
            const acc_t* tp = along_w.data() + (rh.out[k] * p.W + iw) * C;
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
