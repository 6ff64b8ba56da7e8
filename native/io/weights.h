#pragma once
// Loading and saving a model's state dict by name: safetensors both ways, torch.save `.pth` zip
// files for loading (torchvision-style VGG16 weights land in `backbone.features.*`).
#include <torch/torch.h>

#include <string>
#include <vector>

#include "io/safetensors.h"

namespace ichnet::io {

struct LoadReport {
  std::vector<std::string> loaded;      // model keys that received a value
  std::vector<std::string> missing;     // model keys the file did not provide
  std::vector<std::string> unexpected;  // file keys the model has no use for (e.g. classifier.*)
};

/// Parameters and buffers by state-dict name, in registration order.
NamedTensors stateDict(const torch::nn::Module& module);

/// Reads a weights file, detecting the format from its first bytes (zip = torch.save, else safetensors).
NamedTensors readWeightsFile(const std::string& path);

/// Copies matching tensors into the module. A key that matches but has another shape is an error
/// and nothing is modified; missing and unexpected keys are reported.
LoadReport loadStateDict(torch::nn::Module& module, const NamedTensors& tensors, const std::string& source);

}  // namespace ichnet::io
