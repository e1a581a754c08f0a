// Autograd formulas of the differentiable ops, registered for the Autograd dispatch key.
// They are C++ rather than Python (torch.library.register_autograd) so that a fused
// forward+backward runs no Python per call: on a GPU the Python glue was the bound at
// every decoder-sized tensor. See docs/architecture.md, "Departures".
//
// bias_act_upsample saves x and bias, not the 4x larger output: its backward op
// recomputes act'(x + bias). q_sample is linear: d/dx0 = sqrt(abar_t) and
// d/dnoise = sqrt(1 - abar_t), gathered per sample from the schedule table on the device.
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/library.h>

#include <string>

#include "common.h"

namespace genbench {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

using UpsampleSig = at::Tensor(const at::Tensor&, const at::Tensor&, c10::string_view, double,
                               double, int64_t, c10::string_view);
using UpsampleBackwardSig = std::tuple<at::Tensor, at::Tensor>(
    const at::Tensor&, const at::Tensor&, const at::Tensor&, c10::string_view, double, double,
    int64_t, c10::string_view);
using QSampleSig = at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                              const at::Tensor&);

// Callers keep the handle in a static of their own: findSchemaOrThrow takes a lock and
// hashes the name, so it is looked up once per call site.
template <typename Sig>
c10::TypedOperatorHandle<Sig> find_op(const char* name) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, "").template typed<Sig>();
}

class BiasActUpsample : public torch::autograd::Function<BiasActUpsample> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& bias,
                            c10::string_view act, double alpha, double gain, int64_t scale,
                            c10::string_view mode) {
    ctx->save_for_backward({x, bias});
    ctx->saved_data["act"] = std::string(act.data(), act.size());
    ctx->saved_data["alpha"] = alpha;
    ctx->saved_data["gain"] = gain;
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["mode"] = std::string(mode.data(), mode.size());
    static const auto op = find_op<UpsampleSig>("genbench::bias_act_upsample");
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return op.call(x, bias, act, alpha, gain, scale, mode);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list saved = ctx->get_saved_variables();
    const std::string act = ctx->saved_data["act"].toStringRef();
    const std::string mode = ctx->saved_data["mode"].toStringRef();
    static const auto op = find_op<UpsampleBackwardSig>("genbench::bias_act_upsample_backward");
    auto [grad_x, grad_bias] =
        op.call(grads[0], saved[0], saved[1], act, ctx->saved_data["alpha"].toDouble(),
                ctx->saved_data["gain"].toDouble(), ctx->saved_data["scale"].toInt(), mode);
    return {grad_x, grad_bias, {}, {}, {}, {}, {}};
  }
};

class QSample : public torch::autograd::Function<QSample> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x0, const at::Tensor& noise,
                            const at::Tensor& t, const at::Tensor& table) {
    ctx->save_for_backward({t, table});
    static const auto op = find_op<QSampleSig>("genbench::q_sample");
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return op.call(x0, noise, t, table);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor& grad = grads[0];
    const at::Tensor &t = saved[0], &table = saved[1];
    std::vector<int64_t> per_sample(grad.dim(), 1);
    per_sample[0] = -1;
    const auto coefficient = [&](int64_t row) {
      return table.select(0, row).index_select(0, t).view(per_sample).to(grad.scalar_type());
    };
    return {grad * coefficient(kSqrtAbar), grad * coefficient(kSqrtOneMinusAbar), {}, {}};
  }
};

at::Tensor bias_act_upsample_autograd(const at::Tensor& x, const at::Tensor& bias,
                                      c10::string_view act, double alpha, double gain,
                                      int64_t scale, c10::string_view mode) {
  return BiasActUpsample::apply(x, bias, act, alpha, gain, scale, mode);
}

at::Tensor q_sample_autograd(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t,
                             const at::Tensor& table) {
  return QSample::apply(x0, noise, t, table);
}

}  // namespace

TORCH_LIBRARY_IMPL(genbench, Autograd, m) {
  m.impl("bias_act_upsample", &bias_act_upsample_autograd);
  m.impl("q_sample", &q_sample_autograd);
}

}  // namespace genbench
