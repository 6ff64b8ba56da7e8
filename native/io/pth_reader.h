// Reader for PyTorch `torch.save(obj, path)` files in the zip format (PyTorch >= 1.6 default), e.g.
// torchvision `.pth` weights. See pth_reader.cc for why this does not use torch::pickle_load.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace ichnet::io {

// Reads a torch.save() zip archive holding a (possibly nested) dict of tensors; returns flattened
// "a.b.c" keys -> CPU tensors (contiguous, owning their memory), in file order.
// Non-tensor leaves (ints, strings, lists, ...) are skipped.
// Throws std::runtime_error (message names the file and the problem) on any unreadable,
// unsupported or corrupt input.
std::vector<std::pair<std::string, torch::Tensor>> readPthStateDict(const std::string& path);

}  // namespace ichnet::io
