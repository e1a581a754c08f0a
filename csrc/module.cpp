// harness._C: an importable module whose loading runs the static TORCH_LIBRARY
// registrations (the op schemas below, the kernels in the backend files). It exposes
// no Python functions; the ops live in torch.ops.genbench.
#include <Python.h>
#include <torch/library.h>

#include <string>

namespace {

std::string build_info() {
  std::string info = "{\"cpu\": true, \"cuda\": ";
#ifdef GENBENCH_WITH_CUDA
  info += "true, \"cuda_architectures\": \"" GENBENCH_CUDA_ARCHS "\"";
#else
  info += "false";
#endif
  info += ", \"compiler\": \"" __VERSION__ "\"}";
  return info;
}

PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_C",
                          "genbench fused operators (registered in torch.ops.genbench)", -1,
                          nullptr};

}  // namespace

// The schemas; kernels register themselves in the *_cpu.cpp and *_cuda.cu files.
TORCH_LIBRARY(genbench, m) {
  m.def(
      "bias_act_upsample(Tensor x, Tensor bias, str act, float alpha, float gain, int scale, "
      "str mode) -> Tensor");
  m.def(
      "bias_act_upsample_backward(Tensor grad, Tensor x, Tensor bias, str act, float alpha, "
      "float gain, int scale, str mode) -> (Tensor, Tensor)");
  m.def("q_sample(Tensor x0, Tensor noise, Tensor t, Tensor table) -> Tensor");
  m.def(
      "ddpm_step(Tensor x_t, Tensor eps, Tensor t, Tensor table, Tensor? noise, int seed, "
      "int offset, bool clip_x0) -> Tensor");
  m.def(
      "ddim_step(Tensor x_t, Tensor eps, Tensor t, Tensor t_prev, Tensor table, float eta, "
      "Tensor? noise, int seed, int offset, bool clip_x0) -> Tensor");
  m.def("build_info() -> str", &build_info);
}

PyMODINIT_FUNC PyInit__C(void) { return PyModule_Create(&module_def); }
