#pragma once
// The safetensors format (8-byte little-endian header length, JSON header, raw little-endian data),
// so weights move to and from PyTorch's `safetensors.torch.load_file`/`save_file` unchanged.
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ichnet::io {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// Reads every tensor (CPU, owning memory). Errors name the file and what is wrong with it.
NamedTensors readSafetensors(const std::string& path);

/// Writes tensors (moved to CPU, made contiguous) and optional string metadata.
void writeSafetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace ichnet::io
