// The argument checks that every backend of every op shares.
#include "checks.h"

namespace genbench {

Act parse_act(std::string_view act) {
  if (act == "linear") return Act::Linear;
  if (act == "relu") return Act::Relu;
  if (act == "lrelu") return Act::LRelu;
  if (act == "silu") return Act::Silu;
  TORCH_CHECK_VALUE(false, "bias_act_upsample: unknown act '", act,
                    "'; expected one of linear, relu, lrelu, silu");
}

Mode parse_mode(std::string_view mode) {
  if (mode == "nearest") return Mode::Nearest;
  if (mode == "bilinear") return Mode::Bilinear;
  TORCH_CHECK_VALUE(false, "bias_act_upsample: unknown mode '", mode,
                    "'; expected nearest or bilinear");
}

static void check_float_dtype(const at::Tensor& x, const char* op, const char* name) {
  const auto d = x.scalar_type();
  TORCH_CHECK_TYPE(d == at::kFloat || d == at::kHalf || d == at::kBFloat16 || d == at::kDouble, op,
                   ": ", name, " must be float32, float16, bfloat16 or float64, got ", d);
}

at::MemoryFormat check_bias_act_upsample(const at::Tensor& x, const at::Tensor& bias,
                                         int64_t scale, const char* op) {
  TORCH_CHECK_VALUE(x.dim() == 4, op, ": x must be 4-D (N, C, H, W), got ", x.dim(), "-D");
  TORCH_CHECK_VALUE(bias.dim() == 1 && bias.size(0) == x.size(1), op,
                    ": bias must have shape (C,) = (", x.size(1), ",), got ", bias.sizes());
  TORCH_CHECK_VALUE(scale >= 1 && scale <= kMaxScale, op, ": scale must be an integer in [1, ",
                    kMaxScale, "], got ", scale);
  TORCH_CHECK(x.device() == bias.device(), op, ": x and bias must be on the same device, got ",
              x.device(), " and ", bias.device());
  check_float_dtype(x, op, "x");
  TORCH_CHECK_TYPE(x.scalar_type() == bias.scalar_type(), op,
                   ": x and bias must have the same dtype, got ", x.scalar_type(), " and ",
                   bias.scalar_type());
  return x.suggest_memory_format() == at::MemoryFormat::ChannelsLast
             ? at::MemoryFormat::ChannelsLast
             : at::MemoryFormat::Contiguous;
}

int64_t check_schedule_args(const at::Tensor& x, const at::Tensor& other, const at::Tensor& t,
                            const at::Tensor& table, const char* op, const char* other_name) {
  TORCH_CHECK_VALUE(x.dim() >= 1 && x.size(0) >= 1, op, ": x must have a batch dimension");
  TORCH_CHECK_VALUE(x.sizes() == other.sizes(), op, ": ", other_name, " must have x's shape ",
                    x.sizes(), ", got ", other.sizes());
  check_float_dtype(x, op, "x");
  TORCH_CHECK_TYPE(x.scalar_type() == other.scalar_type(), op, ": x and ", other_name,
                   " must have the same dtype, got ", x.scalar_type(), " and ",
                   other.scalar_type());
  TORCH_CHECK(x.device() == other.device() && x.device() == t.device() &&
                  x.device() == table.device(),
              op, ": x, ", other_name, ", t and the schedule must be on one device, got ",
              x.device(), ", ", other.device(), ", ", t.device(), ", ", table.device());
  TORCH_CHECK_TYPE(t.scalar_type() == at::kLong, op, ": t must be int64, got ", t.scalar_type());
  TORCH_CHECK_VALUE(t.dim() == 1 && t.size(0) == x.size(0), op,
                    ": t must hold one timestep per sample, shape (", x.size(0), ",), got ",
                    t.sizes());
  TORCH_CHECK_TYPE(table.scalar_type() == at::kFloat, op, ": schedule table must be float32");
  TORCH_CHECK_VALUE(table.dim() == 2 && table.size(0) == kTableRows && table.is_contiguous(), op,
                    ": schedule table must be a contiguous (", int(kTableRows), ", T) tensor");
  return table.size(1);
}

void check_noise(const at::Tensor& x, const c10::optional<at::Tensor>& noise, const char* op) {
  if (!noise.has_value()) return;
  TORCH_CHECK_VALUE(noise->sizes() == x.sizes(), op, ": noise must have x's shape ", x.sizes(),
                    ", got ", noise->sizes());
  TORCH_CHECK_TYPE(noise->scalar_type() == x.scalar_type(), op,
                   ": noise must have x's dtype ", x.scalar_type());
  TORCH_CHECK(noise->device() == x.device(), op, ": noise must be on x's device ", x.device());
}

}  // namespace genbench
