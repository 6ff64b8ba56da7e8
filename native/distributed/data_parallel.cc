#include "distributed/data_parallel.h"

#include <cstdint>
#include <functional>
#include <stdexcept>

#include "distributed/sync_batch_norm.h"

namespace ichnet::distributed {

namespace {

std::vector<torch::Tensor> trainable(torch::nn::Module& model) {
  std::vector<torch::Tensor> out;
  for (const auto& p : model.parameters()) {
    if (p.requires_grad()) out.push_back(p);
  }
  return out;
}

/// Sum of every value, in float64: equal on every rank iff the broadcast reached every rank (the
/// tensors are bit-identical after it, and the sum is computed the same way everywhere).
double checksum(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  double sum = 0;
  for (const auto& p : model.parameters()) sum += p.detach().to(torch::kFloat64).sum().item<double>();
  for (const auto& b : model.buffers()) sum += b.detach().to(torch::kFloat64).sum().item<double>();
  return sum;
}

}  // namespace

DataParallel::DataParallel(std::shared_ptr<ProcessGroup> group, torch::nn::Module& model, bool find_unused)
    : group_(std::move(group)), model_(model) {
  checkSameShapes();
  broadcastState("broadcasting parameters and buffers from rank 0");
  const auto mine = torch::tensor({checksum(model_)}, torch::kFloat64);
  const auto all = group_->allGather(mine, "checking the broadcast parameters");
  for (int r = 0; r < static_cast<int>(all.size()); ++r) {
    if (!torch::equal(all[r], mine)) {
      throw std::runtime_error("rank " + std::to_string(group_->rank()) + ": parameters differ from rank " + std::to_string(r) +
                               "'s after the broadcast from rank 0 (checksums " + std::to_string(mine.item<double>()) + " and " +
                               std::to_string(all[r].item<double>()) + ")");
    }
  }
  buckets_ = std::make_unique<GradientBuckets>(*group_, trainable(model_), group_->config().bucket_cap_mb * 1024 * 1024, find_unused);
  // Synchronised BatchNorm layers compute equal running statistics on every rank: no broadcast.
  for (const auto& module : model_.modules()) {
    if (group_->config().sync_bn && dynamic_cast<torch::nn::BatchNorm2dImpl*>(module.get())) continue;
    for (const auto& b : module->buffers(/*recurse=*/false)) step_buffers_.push_back(b.detach());
  }
}

model::VggBackboneImpl::BatchNormForward DataParallel::batchNormForward() const {
  if (!group_->config().sync_bn) return {};
  return [group = group_](torch::nn::BatchNorm2dImpl& layer, const torch::Tensor& x) { return syncBatchNorm(group, layer, x); };
}

DataParallel::~DataParallel() = default;

void DataParallel::checkSameShapes() {
  // One line per parameter and buffer; ranks compare a hash and the count, then rank 0's list is
  // searched for the first difference only when they differ.
  std::string layout;
  for (const auto& item : model_.named_parameters()) layout += item.key() + ":" + c10::str(item.value().sizes()) + "\n";
  for (const auto& item : model_.named_buffers()) layout += item.key() + ":" + c10::str(item.value().sizes()) + "\n";
  const auto hash = static_cast<int64_t>(std::hash<std::string>{}(layout) & 0x3fffffffffffffffULL);
  const auto mine = torch::tensor({hash, static_cast<int64_t>(layout.size())}, torch::kInt64);
  const auto all = group_->allGather(mine, "checking that every rank has the same parameter shapes");
  for (int r = 0; r < static_cast<int>(all.size()); ++r) {
    if (!torch::equal(all[r], mine)) {
      throw std::runtime_error("rank " + std::to_string(group_->rank()) + ": the model's parameters or buffers differ from rank " +
                               std::to_string(r) + "'s (names or shapes); every rank must build the same model");
    }
  }
}

void DataParallel::broadcastState(const std::string& what) {
  std::vector<torch::Tensor> tensors;
  for (const auto& p : model_.parameters()) tensors.push_back(p.detach());
  for (const auto& b : model_.buffers()) tensors.push_back(b.detach());
  group_->broadcast(tensors, what);
}

void DataParallel::beforeForward(int64_t step) {
  if (group_->config().broadcast_buffers) {
    group_->broadcast(step_buffers_, "broadcasting buffers from rank 0 before training step " + std::to_string(step));
  }
}

double DataParallel::backward(const torch::Tensor& loss, const std::function<void()>& run_backward, int64_t step) {
  double mean = 0;
  group_->guard("the gradient and loss all-reduce of training step " + std::to_string(step), [&] {
    // The loss's all-reduce is issued before any bucket's, so that every rank issues them in the
    // same order, and runs while backward does; reading it waits for nothing more.
    std::vector<torch::Tensor> total{loss.detach().to(group_->device(), torch::kFloat64, /*non_blocking=*/false, /*copy=*/true)};
    const auto loss_work = group_->group()->allreduce(total);
    buckets_->arm(loss);
    run_backward();
    try {
      buckets_->finish();
    } catch (...) {
      // A collective that fails (a peer that stopped answering) closes the connection under the
      // ones issued after it: the loss's, issued first, tells the cause.
      loss_work->wait();
      throw;
    }
    loss_work->wait();
    mean = total[0].item<double>() / group_->size();
  });
  return mean;
}

void DataParallel::sync() { broadcastState("broadcasting parameters and buffers from rank 0"); }

}  // namespace ichnet::distributed
