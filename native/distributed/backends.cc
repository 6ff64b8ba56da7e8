#include "distributed/backends.h"

#include <stdexcept>

namespace ichnet::distributed {

std::vector<std::string> compiledBackends() {
  std::vector<std::string> out;
#ifdef ICHNET_C10D_GLOO
  out.emplace_back("gloo");
#endif
#ifdef ICHNET_C10D_NCCL
  out.emplace_back("nccl");
#endif
  return out;
}

namespace {

bool compiled(const std::string& name) {
  for (const auto& b : compiledBackends()) {
    if (b == name) return true;
  }
  return false;
}

std::string missing(const std::string& name) {
  if (name == "gloo") {
    return "distributed.backend 'gloo': this addon was built without Gloo's headers (on Debian: "
           "apt-get install libgloo-dev, then npm run build:native); see `ichnet doctor`";
  }
  return "distributed.backend 'nccl': this addon has no NCCL (it needs a CUDA LibTorch built with NCCL and nccl.h "
         "at build time); use backend 'gloo' or see `ichnet doctor`";
}

}  // namespace

std::string chooseBackend(const std::string& spec, bool cuda_device) {
  if (spec == "auto") {
    if (cuda_device && compiled("nccl")) return "nccl";
    if (compiled("gloo")) return "gloo";
    throw std::runtime_error(missing(cuda_device ? "nccl" : "gloo"));
  }
  if (spec != "gloo" && spec != "nccl") {
    throw std::invalid_argument("distributed.backend: expected 'auto', 'gloo' or 'nccl', got '" + spec + "'");
  }
  if (!compiled(spec)) throw std::runtime_error(missing(spec));
  if (spec == "nccl" && !cuda_device) {
    throw std::runtime_error("distributed.backend 'nccl' needs a CUDA device; on the CPU use 'gloo' (or 'auto')");
  }
  return spec;
}

}  // namespace ichnet::distributed
