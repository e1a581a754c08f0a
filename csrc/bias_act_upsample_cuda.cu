// CUDA kernels of bias_act_upsample. Forward: each thread writes VEC consecutive
// outputs (one 16-byte store where aligned), recomputing the activation of the input
// taps it reads. Backward: each thread owns VEC inputs and gathers the gradient of
// every output that read them; no atomics, so the result is deterministic.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <torch/library.h>

#include "checks.h"
#include "cuda_utils.cuh"

namespace genbench {
namespace {

struct Shape {
  int64_t N, C, H, W, OH, OW;
  int s;
  Mode mode;
  Act act;
  bool nhwc;
};

template <typename index_t>
__device__ __forceinline__ index_t offset4(const Shape& p, index_t n, index_t c, index_t h,
                                           index_t w, index_t Hd, index_t Wd) {
  return p.nhwc ? ((n * Hd + h) * Wd + w) * p.C + c : ((n * p.C + c) * Hd + h) * Wd + w;
}

// Splits a flat index of an (N, C, Hd, Wd) tensor in memory order into coordinates.
template <typename index_t>
__device__ __forceinline__ void split4(const Shape& p, index_t i, index_t Hd, index_t Wd,
                                       index_t& n, index_t& c, index_t& h, index_t& w) {
  const index_t C = p.C;
  if (p.nhwc) {
    c = i % C; i /= C;
    w = i % Wd; i /= Wd;
    h = i % Hd; n = i / Hd;
  } else {
    w = i % Wd; i /= Wd;
    h = i % Hd; i /= Hd;
    c = i % C; n = i / C;
  }
}

template <typename scalar_t, typename index_t, int VEC>
__global__ void __launch_bounds__(kThreads)
forward_kernel(const scalar_t* __restrict__ x, const scalar_t* __restrict__ bias,
               scalar_t* __restrict__ out, Shape p, float alpha_f, float gain_f) {
  using acc_t = at::opmath_type<scalar_t>;
  const acc_t alpha = alpha_f, gain = gain_f;
  const index_t H = p.H, W = p.W, OH = p.OH, OW = p.OW;
  const index_t nvec = static_cast<index_t>(p.N * p.C * p.OH * p.OW / VEC);
  for (index_t v = blockIdx.x * blockDim.x + threadIdx.x; v < nvec;
       v += static_cast<index_t>(gridDim.x) * blockDim.x) {
    index_t n, c, oh, ow;
    split4<index_t>(p, v * VEC, OH, OW, n, c, oh, ow);
    const Taps th = source_taps(oh, H, p.s, p.mode);
    Vec<scalar_t, VEC> o;
#pragma unroll
    for (int k = 0; k < VEC; ++k) {
      const index_t ck = p.nhwc ? c + k : c, owk = p.nhwc ? ow : ow + k;
      const Taps tw = source_taps(owk, W, p.s, p.mode);
      const acc_t b = static_cast<acc_t>(bias[ck]);
      auto at = [&](int64_t h, int64_t w) {
        const scalar_t xv = x[offset4<index_t>(p, n, ck, static_cast<index_t>(h),
                                               static_cast<index_t>(w), H, W)];
        return act_forward<acc_t>(static_cast<acc_t>(xv) + b, p.act, alpha);
      };
      acc_t val;
      if (p.mode == Mode::Nearest) {
        val = at(th.i0, tw.i0);
      } else {
        const acc_t top = acc_t(tw.w0) * at(th.i0, tw.i0) + acc_t(tw.w1) * at(th.i0, tw.i1);
        const acc_t bot = acc_t(tw.w0) * at(th.i1, tw.i0) + acc_t(tw.w1) * at(th.i1, tw.i1);
        val = acc_t(th.w0) * top + acc_t(th.w1) * bot;
      }
      o.v[k] = static_cast<scalar_t>(gain * val);
    }
    *reinterpret_cast<Vec<scalar_t, VEC>*>(out + v * VEC) = o;
  }
}

template <typename scalar_t, typename index_t, int VEC>
__global__ void __launch_bounds__(kThreads)
backward_kernel(const scalar_t* __restrict__ grad, const scalar_t* __restrict__ x,
                const scalar_t* __restrict__ bias, scalar_t* __restrict__ grad_x, Shape p,
                float alpha_f, float gain_f) {
  using acc_t = at::opmath_type<scalar_t>;
  const acc_t alpha = alpha_f, gain = gain_f;
  const index_t H = p.H, W = p.W, OH = p.OH, OW = p.OW;
  const index_t nvec = static_cast<index_t>(p.N * p.C * p.H * p.W / VEC);
  for (index_t v = blockIdx.x * blockDim.x + threadIdx.x; v < nvec;
       v += static_cast<index_t>(gridDim.x) * blockDim.x) {
    index_t n, c, ih, iw;
    split4<index_t>(p, v * VEC, H, W, n, c, ih, iw);
    const Vec<scalar_t, VEC> xv = *reinterpret_cast<const Vec<scalar_t, VEC>*>(x + v * VEC);
    const index_t oh_lo = first_reader(ih, p.s, p.mode);
    const index_t oh_hi = last_reader(ih, H, OH, p.s, p.mode);
    Vec<scalar_t, VEC> o;
#pragma unroll
    for (int k = 0; k < VEC; ++k) {
      const index_t ck = p.nhwc ? c + k : c, iwk = p.nhwc ? iw : iw + k;
      const index_t ow_lo = first_reader(iwk, p.s, p.mode);
      const index_t ow_hi = last_reader(iwk, W, OW, p.s, p.mode);
      acc_t sum = 0;
      for (index_t oh = oh_lo; oh < oh_hi; ++oh) {
        const float wh = tap_weight(oh, ih, H, p.s, p.mode);
        if (wh == 0.f) continue;
        acc_t row = 0;
        for (index_t ow = ow_lo; ow < ow_hi; ++ow) {
          const float ww = tap_weight(ow, iwk, W, p.s, p.mode);
          if (ww != 0.f)
            row += acc_t(ww) * static_cast<acc_t>(grad[offset4<index_t>(p, n, ck, oh, ow, OH, OW)]);
        }
        sum += acc_t(wh) * row;
      }
      const acc_t y = static_cast<acc_t>(xv.v[k]) + static_cast<acc_t>(bias[ck]);
      o.v[k] = static_cast<scalar_t>(gain * act_derivative<acc_t>(y, p.act, alpha) * sum);
    }
    *reinterpret_cast<Vec<scalar_t, VEC>*>(grad_x + v * VEC) = o;
  }
}

Shape make_shape(const at::Tensor& x, int64_t scale, c10::string_view mode, c10::string_view act,
                 at::MemoryFormat fmt) {
  const int s = static_cast<int>(scale);
  return {x.size(0), x.size(1), x.size(2), x.size(3), x.size(2) * s, x.size(3) * s, s,
          parse_mode(mode), parse_act(act), fmt == at::MemoryFormat::ChannelsLast};
}

// Picks the 16-byte vector path when the innermost memory dimension allows it.
template <typename scalar_t, typename Launch>
void launch_vec_or_scalar(int64_t inner, bool aligned, int64_t total, Launch&& launch) {
  constexpr int V = vec16<scalar_t>();
  const bool use_int32 = total < (int64_t{1} << 31);
  if (aligned && inner % V == 0) {
    if (use_int32) launch(std::integral_constant<int, V>{}, int32_t{});
    else launch(std::integral_constant<int, V>{}, int64_t{});
  } else {
    if (use_int32) launch(std::integral_constant<int, 1>{}, int32_t{});
    else launch(std::integral_constant<int, 1>{}, int64_t{});
  }
}

at::Tensor bias_act_upsample_cuda(const at::Tensor& x_in, const at::Tensor& bias_in,
                                  c10::string_view act, double alpha, double gain, int64_t scale,
                                  c10::string_view mode) {
  const auto fmt = check_bias_act_upsample(x_in, bias_in, scale, "bias_act_upsample");
  const c10::cuda::CUDAGuard guard(x_in.device());
  const Shape p = make_shape(x_in, scale, mode, act, fmt);
  const at::Tensor x = x_in.contiguous(fmt), bias = bias_in.contiguous();
  at::Tensor out = at::empty({p.N, p.C, p.OH, p.OW}, x.options().memory_format(fmt));
  const int64_t total = out.numel();
  if (total == 0) return out;
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "bias_act_upsample_cuda", [&] {
    launch_vec_or_scalar<scalar_t>(p.nhwc ? p.C : p.OW, true, total, [&](auto vec, auto idx) {
      constexpr int V = decltype(vec)::value;
      using index_t = decltype(idx);
      forward_kernel<scalar_t, index_t, V><<<grid_for(total / V), kThreads, 0, stream>>>(
          x.const_data_ptr<scalar_t>(), bias.const_data_ptr<scalar_t>(),
          out.mutable_data_ptr<scalar_t>(), p, static_cast<float>(alpha), static_cast<float>(gain));
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor> bias_act_upsample_backward_cuda(
    const at::Tensor& grad_in, const at::Tensor& x_in, const at::Tensor& bias_in,
    c10::string_view act, double alpha, double gain, int64_t scale, c10::string_view mode) {
  const auto fmt = check_bias_act_upsample(x_in, bias_in, scale, "bias_act_upsample_backward");
  const c10::cuda::CUDAGuard guard(x_in.device());
  const Shape p = make_shape(x_in, scale, mode, act, fmt);
  TORCH_CHECK_VALUE(grad_in.sizes() == at::IntArrayRef({p.N, p.C, p.OH, p.OW}),
                    "bias_act_upsample_backward: grad must have the output's shape");
  const at::Tensor x = x_in.contiguous(fmt), bias = bias_in.contiguous();
  const at::Tensor grad = grad_in.to(x.scalar_type()).contiguous(fmt);
  at::Tensor grad_x = at::empty_like(x, x.options().memory_format(fmt));
  const int64_t total = x.numel();
  if (total > 0) {
    auto stream = c10::cuda::getCurrentCUDAStream();
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "bias_act_upsample_backward_cuda", [&] {
      launch_vec_or_scalar<scalar_t>(p.nhwc ? p.C : p.W, aligned16(x.const_data_ptr()),
                                     std::max(total, grad.numel()), [&](auto vec, auto idx) {
        constexpr int V = decltype(vec)::value;
        using index_t = decltype(idx);
        backward_kernel<scalar_t, index_t, V><<<grid_for(total / V), kThreads, 0, stream>>>(
            grad.const_data_ptr<scalar_t>(), x.const_data_ptr<scalar_t>(),
            bias.const_data_ptr<scalar_t>(), grad_x.mutable_data_ptr<scalar_t>(), p,
            static_cast<float>(alpha), static_cast<float>(gain));
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      });
    });
  }
  // Reduced at input resolution, by ATen's deterministic tree reduction.
  const auto acc = x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  at::Tensor grad_bias = grad_x.sum({0, 2, 3}, false, acc).to(bias.scalar_type());
  return {grad_x, grad_bias};
}

}  // namespace

TORCH_LIBRARY_IMPL(genbench, CUDA, m) {
  m.impl("bias_act_upsample", &bias_act_upsample_cuda);
  m.impl("bias_act_upsample_backward", &bias_act_upsample_backward_cuda);
}

}  // namespace genbench
