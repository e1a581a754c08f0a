// Argument parsing and validation shared by every backend of every op, so that a
// bad call fails the same way (and with the same message) on CPU and CUDA.
#pragma once

#include <ATen/ATen.h>

#include <string_view>

#include "common.h"

namespace genbench {

Act parse_act(std::string_view act);
Mode parse_mode(std::string_view mode);

// Checks x (N,C,H,W), bias (C) and scale; returns the memory format the output keeps.
at::MemoryFormat check_bias_act_upsample(const at::Tensor& x, const at::Tensor& bias,
                                         int64_t scale, const char* op);

// Checks x/other same shape, dtype and device; t int64 (N,) on the same device; table
// float32 (kTableRows, T) on the same device. Returns T.
int64_t check_schedule_args(const at::Tensor& x, const at::Tensor& other, const at::Tensor& t,
                            const at::Tensor& table, const char* op, const char* other_name);

void check_noise(const at::Tensor& x, const c10::optional<at::Tensor>& noise, const char* op);

}  // namespace genbench
