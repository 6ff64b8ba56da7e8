#include "io/weights.h"

#include <fstream>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include "io/pth_reader.h"

namespace ichnet::io {

NamedTensors stateDict(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) out.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers(/*recurse=*/true)) out.emplace_back(b.key(), b.value());
  return out;
}

NamedTensors readWeightsFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open weights file (" + std::strerror(errno) + ")");
  char magic[4] = {0, 0, 0, 0};
  in.read(magic, 4);
  in.close();
  if (magic[0] == 'P' && magic[1] == 'K') return readPthStateDict(path);
  return readSafetensors(path);
}

namespace {

bool startsWith(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

/// Maps file keys onto model keys: strips a DataParallel `module.` prefix and places torchvision
/// VGG keys (`features.N.*`, `classifier.*`) under `backbone.` when the model has no such key.
std::string modelKey(const std::string& key, const std::unordered_map<std::string, torch::Tensor>& model) {
  std::string k = startsWith(key, "module.") ? key.substr(7) : key;
  if (!model.count(k) && (startsWith(k, "features.") || startsWith(k, "classifier."))) {
    const std::string scoped = "backbone." + k;
    if (model.count(scoped) || startsWith(k, "classifier.")) return scoped;
  }
  return k;
}

}  // namespace

LoadReport loadStateDict(torch::nn::Module& module, const NamedTensors& tensors, const std::string& source) {
  const auto own = stateDict(module);
  std::unordered_map<std::string, torch::Tensor> by_name(own.begin(), own.end());
  LoadReport report;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  std::set<std::string> provided;
  std::string mismatches;
  for (const auto& [file_key, value] : tensors) {
    const std::string key = modelKey(file_key, by_name);
    const auto it = by_name.find(key);
    if (it == by_name.end()) {
      report.unexpected.push_back(file_key);
      continue;
    }
    if (it->second.sizes() != value.sizes()) {
      mismatches += "\n  " + file_key + ": file has " + c10::str(value.sizes()) + ", model expects " +
                    c10::str(it->second.sizes());
      continue;
    }
    provided.insert(key);
    copies.emplace_back(it->second, value);
  }
  if (!mismatches.empty()) {
    throw std::runtime_error(source + ": shape mismatch, nothing was loaded:" + mismatches);
  }
  {
    torch::NoGradGuard no_grad;
    for (auto& [dst, src] : copies) dst.copy_(src.to(dst.device(), dst.scalar_type()));
  }
  for (const auto& [name, _] : own) (provided.count(name) ? report.loaded : report.missing).push_back(name);
  return report;
}

}  // namespace ichnet::io
