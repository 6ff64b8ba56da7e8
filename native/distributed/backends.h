#pragma once
// The c10d backends compiled into this addon, and the choice among them.
#include <string>
#include <vector>

namespace ichnet::distributed {

/// "gloo" when LibTorch has ProcessGroupGloo and its headers were found at build time; "nccl"
/// when LibTorch was built with ProcessGroupNCCL and nccl.h was found (see CMakeLists.txt).
std::vector<std::string> compiledBackends();

/// auto -> nccl on CUDA when compiled in, else gloo; gloo | nccl -> itself if compiled in and
/// usable on the device, else an error naming the fix.
std::string chooseBackend(const std::string& spec, bool cuda_device);

}  // namespace ichnet::distributed
