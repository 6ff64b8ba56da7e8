#include "session/session.h"

#include <ATen/Parallel.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <fcntl.h>
#include <stdio.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>
#include <unistd.h>

#include "distributed/data_parallel.h"
#include "io/file_writer.h"
#include "io/safetensors.h"
#include "loss/asl.h"
#include "prep/prep.h"
#include "session/autocast.h"
#include "session/background_priority.h"
#include "session/intra_op_threads.h"
#include "session/optimizer.h"

namespace ichnet::session {

namespace fs = std::filesystem;

torch::Device resolveDevice(const std::string& spec) {
  if (spec == "cpu") return torch::kCPU;
  if (spec == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (spec.rfind("cuda", 0) != 0) {
    throw std::invalid_argument("device: expected 'auto', 'cpu', 'cuda' or 'cuda:<index>', got '" + spec + "'");
  }
  int64_t index = 0;
  if (spec.size() > 4) {
    if (spec[4] != ':' || spec.size() == 5 || spec.find_first_not_of("0123456789", 5) != std::string::npos) {
      throw std::invalid_argument("device: expected 'cuda' or 'cuda:<index>', got '" + spec + "'");
    }
    index = std::stoll(spec.substr(5));
  }
  if (!torch::cuda::is_available()) {
    throw std::runtime_error("device '" + spec + "' requested but CUDA is not available (LibTorch " TORCH_VERSION
                             " was built " + std::string(torch::cuda::device_count() == 0 ? "without CUDA or no NVIDIA GPU/driver is visible" : "") +
                             "); use device 'cpu' or 'auto', and see `ichnet doctor`");
  }
  const auto count = static_cast<int64_t>(torch::cuda::device_count());
  if (index >= count) {
    throw std::runtime_error("device '" + spec + "' requested but only " + std::to_string(count) + " CUDA device(s) exist");
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

Session::Session(const SessionConfig& config)
    : config_(config), device_(resolveDevice(config.device)), lr_(config.optim.lr) {
  // CPU fp16 kernels are slow or missing: running fp32 instead would make info() and the run's
  // config claim a precision that did not run.
  if (config.precision == Precision::Fp16 && !device_.is_cuda()) {
    throw std::invalid_argument("precision: 'fp16' runs on CUDA only, and device '" + config.device +
                                "' is the CPU here; use 'bf16', 'fp32' or 'auto'");
  }
  enterWorkerThread();
  torch::manual_seed(config.seed);
  model_ = model::IchNet(config.model);
  model_->to(device_);
  if (config.channels_last) {
    torch::NoGradGuard no_grad;
    for (auto& p : model_->parameters()) {
      if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
    }
  }
  if (device_.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  using Foreach = OptimConfig::Foreach;
  const auto foreach = config.optim.foreach;
  optimizer_ = makeOptimizer(model_, config.optim, foreach == Foreach::On || (foreach == Foreach::Auto && device_.is_cuda()));
  if (config.distributed.enabled) {
    // The label RNN's own head gets no gradient when both RNNs are on and its auxiliary loss is off.
    const bool unused = config.model.label_rnn != model::RnnKind::None && config.model.slice_rnn != model::RnnKind::None &&
                        !(config.loss.aux_weight > 0);
    ddp_ = std::make_unique<distributed::DataParallel>(distributed::ProcessGroup::join(config.distributed, device_), *model_, unused);
    if (auto batch_norm = ddp_->batchNormForward()) model_->backbone()->setBatchNormForward(std::move(batch_norm));
  }
}

Session::~Session() = default;

distributed::DataParallel& Session::ddp(const char* what) {
  if (!ddp_) throw std::runtime_error(std::string(what) + ": this session is not part of a data-parallel job (config.distributed)");
  return *ddp_;
}

void Session::enterWorkerThread() const {
  useIntraOpThreads(config_.threads);
}

struct Session::Forward {
  model::ModelOutput out;
  torch::Tensor valid;  // bool [B, S] on the device
};

int Session::stagingThreads() const {
  // On a GPU the compute thread mostly queues kernels and waits, so staging gets every thread. On
  // the CPU the step's own threads keep the cores busy: staging takes half of them (at least one),
  // which fills the cores the step leaves idle (its serial parts: the RNNs, the optimizer) without
  // doubling the threads competing for them.
  return device_.is_cuda() ? config_.threads : std::max(1, config_.threads / 2);
}

torch::Tensor Session::input(const Batch& batch, bool augment, std::vector<prep::Box>* boxes) const {
  // Only valid slices are preprocessed and run through the backbone.
  auto x = prep::preprocessBatch(batch.images, batch.lengths, config_.prep, augment ? batch.aug : torch::Tensor(), device_, boxes);
  if (config_.channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  return x;
}

torch::Tensor Session::prepareInput(const Batch& batch, bool augment) const {
  useIntraOpThreads(stagingThreads());
  if (!device_.is_cuda()) runBehindOtherThreads();
  return input(batch, augment);
}

Session::Forward Session::forward(const Batch& batch, bool augment, const PreparedInput& prepared) {
  const auto x = prepared.valid() ? prepared.get() : input(batch, augment);
  // bf16 autocasts on CUDA and on the CPU; fp16 on CUDA only (the constructor rejects it elsewhere).
  const bool autocast = config_.precision != Precision::Fp32;
  Autocast guard(autocast, device_.type(), config_.precision == Precision::Bf16 ? at::kBFloat16 : at::kHalf);
  return {model_->forward(x, batch.lengths, batch.slices), model::validSliceMask(batch.lengths, batch.slices, device_)};
}

torch::Tensor Session::lossOf(const Forward& f, const Batch& batch) const {
  const auto targets = batch.labels.to(device_);
  auto loss = loss::asymmetricLoss(f.out.slice_logits, targets, f.valid, config_.loss);
  if (f.out.aux_logits.defined() && config_.loss.aux_weight > 0) {
    loss = loss + config_.loss.aux_weight * loss::asymmetricLoss(f.out.aux_logits, targets, f.valid, config_.loss);
  }
  return loss;
}

namespace {

StepResult toResult(const torch::Tensor& logits, const torch::Tensor& valid, double loss) {
  StepResult r;
  r.loss = loss;
  const auto l = logits.detach().to(torch::kFloat32);
  r.patient_probs = torch::sigmoid(l).masked_fill(valid.logical_not().unsqueeze(-1), 0).amax(1).cpu().contiguous();
  r.slice_logits = l.cpu().contiguous();
  return r;
}

void checkFinite(const torch::Tensor& loss, int64_t step) {
  const double v = loss.item<double>();
  if (!std::isfinite(v)) {
    throw std::runtime_error("loss is " + std::string(std::isnan(v) ? "NaN" : "infinite") + " at step " +
                             std::to_string(step) +
                             "; the weights were not updated. Check the inputs for NaN/Inf values and lower the learning rate");
  }
}

}  // namespace

bool Session::scaledLoss() const { return config_.precision == Precision::Fp16; }

void Session::optimizerStep() {
  if (scaledLoss()) {
    // Dynamic loss scaling: unscale, skip the step on overflow and halve the scale, grow it after
    // 2000 clean steps (PyTorch's GradScaler defaults).
    // One host synchronisation for the overflow check, not one per parameter.
    std::vector<torch::Tensor> finite;
    for (auto& p : model_->parameters()) {
      if (!p.grad().defined()) continue;
      p.mutable_grad().div_(grad_scale_);
      finite.push_back(torch::isfinite(p.grad()).all());
    }
    const bool overflow = !finite.empty() && !torch::stack(finite).all().item<bool>();
    if (overflow) {
      grad_scale_ /= 2;
      good_steps_ = 0;
      return;
    }
    if (++good_steps_ % 2000 == 0) grad_scale_ *= 2;
  }
  if (config_.optim.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model_->parameters(), config_.optim.grad_clip);
  optimizer_->step();
}

StepResult Session::trainStep(const Batch& batch, const PreparedInput& prepared) {
  std::lock_guard<std::mutex> lock(mutex_);
  enterWorkerThread();
  model_->train();
  optimizer_->zero_grad();
  // BatchNorm updates its running statistics during forward: keep a copy (a few KB) so that a
  // rejected step leaves the model exactly as it was.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> buffers;
  for (auto& b : model_->buffers()) buffers.emplace_back(b, b.clone());
  const auto restore = [&] {
    torch::NoGradGuard no_grad;
    for (auto& [live, saved] : buffers) live.copy_(saved);
  };
  torch::Tensor loss;
  Forward f;
  double global_loss = std::nan("");
  try {
    if (ddp_) ddp_->beforeForward(step_);
    f = forward(batch, /*augment=*/true, prepared);
    loss = lossOf(f, batch);
    const auto backward = [&] { (scaledLoss() ? loss * grad_scale_ : loss).backward(); };
    // Backward is queued before the loss is read, so that reading it (a device synchronisation on
    // CUDA) does not leave the GPU idle between forward and backward.
    if (ddp_) {
      global_loss = ddp_->backward(loss, backward, step_);
      // Every rank steps or none does: a non-finite loss anywhere reached every rank's averaged
      // gradients, so all reject the step together.
      checkFinite(torch::tensor(global_loss, torch::kFloat64), step_);
    } else {
      backward();
      checkFinite(loss, step_);
    }
  } catch (...) {
    restore();
    optimizer_->zero_grad();
    throw;
  }
  optimizerStep();
  ++step_;
  auto result = toResult(f.out.slice_logits, f.valid, loss.item<double>());
  result.global_loss = global_loss;
  return result;
}

StepResult Session::evaluate(const Batch& batch, bool with_loss, const PreparedInput& prepared) {
  std::lock_guard<std::mutex> lock(mutex_);
  enterWorkerThread();
  model_->eval();
  c10::InferenceMode inference;
  const auto f = forward(batch, /*augment=*/false, prepared);
  const double loss = with_loss ? lossOf(f, batch).item<double>() : std::nan("");
  return toResult(f.out.slice_logits, f.valid, loss);
}

model::GradCamResult Session::gradCam(const Batch& batch, const torch::Tensor& targets) {
  std::lock_guard<std::mutex> lock(mutex_);
  enterWorkerThread();
  model_->eval();
  torch::Tensor x;
  std::vector<prep::Box> boxes;
  {
    torch::NoGradGuard no_grad;
    x = input(batch, /*augment=*/false, &boxes);
  }
  struct RnnTraining {  // restores evaluation mode however the call ends
    model::IchNetImpl& m;
    explicit RnnTraining(model::IchNetImpl& model) : m(model) { m.setRnnTraining(true); }
    ~RnnTraining() { m.setRnnTraining(false); }
  } rnn_training(*model_);
  auto result = model::gradCam(*model_, x, batch.lengths, batch.slices, targets);
  result.input_boxes = prep::boxTensor(boxes);
  return result;
}

StepResult Session::evalStep(const Batch& batch, const PreparedInput& prepared) { return evaluate(batch, true, prepared); }
StepResult Session::predict(const Batch& batch, const PreparedInput& prepared) { return evaluate(batch, false, prepared); }

void Session::setLearningRate(double lr) {
  std::lock_guard<std::mutex> lock(mutex_);
  lr_ = lr;
  session::setLearningRate(*optimizer_, lr, config_.optim.backbone_lr_mult);
}

io::LoadReport Session::loadWeights(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  enterWorkerThread();
  return io::loadStateDict(*model_, io::readWeightsFile(path), path);
}

void Session::saveWeights(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  enterWorkerThread();
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    throw std::runtime_error(path + ": is a directory; saveWeights needs a file name (e.g. " +
                             (fs::path(path) / "model.safetensors").string() + ")");
  }
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  io::writeSafetensors(tmp, io::stateDict(*model_), {{"format", "pt"}});  // removes tmp if it fails
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw std::runtime_error(path + ": cannot write (" + ec.message() + ")");
  }
}

namespace {

constexpr const char* kModelFile = "model.safetensors";
constexpr const char* kOptimizerFile = "optimizer.pt";

/// Swaps two directory entries atomically (Linux renameat2 RENAME_EXCHANGE); false where the
/// filesystem or kernel cannot, so the caller falls back to two renames.
bool exchange(const fs::path& a, const fs::path& b) {
#ifdef RENAME_EXCHANGE
  if (::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0) return true;
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
    throw std::runtime_error(b.string() + ": cannot replace the checkpoint (" + std::strerror(errno) + ")");
  }
#endif
  return false;
}

/// Throws `<path>: <what> (<reason>)` when `ec` holds an error.
void check(const std::error_code& ec, const fs::path& path, const std::string& what) {
  if (ec) throw std::runtime_error(path.string() + ": " + what + " (" + ec.message() + ")");
}

}  // namespace

void Session::saveCheckpoint(const std::string& dir, const std::map<std::string, std::string>& extra) {
  std::lock_guard<std::mutex> lock(mutex_);
  enterWorkerThread();
  for (const auto& [name, text] : extra) {
    if (name.empty() || name.find('/') != std::string::npos || name == kModelFile || name == kOptimizerFile) {
      throw std::invalid_argument("checkpoint extra file name '" + name + "' is not allowed");
    }
  }
  const fs::path target = fs::absolute(dir);
  const std::string suffix = std::to_string(::getpid());
  // The writing and the previous-checkpoint names both end in .tmp-PID: whatever a killed process
  // leaves behind is one kind of leftover, which the next run removes.
  const fs::path tmp = target.string() + ".tmp-" + suffix;
  const fs::path old = target.string() + ".old.tmp-" + suffix;
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  check(ec, target.parent_path(), "cannot create the checkpoint's directory");
  fs::remove_all(tmp, ec);
  fs::remove_all(old, ec);
  fs::create_directory(tmp, ec);
  check(ec, tmp, "cannot create directory");
  try {
    io::writeSafetensors((tmp / kModelFile).string(), io::stateDict(*model_), {{"format", "pt"}});
    {
      torch::serialize::OutputArchive archive;
      optimizer_->save(archive);
      archive.write("ichnet.step", torch::tensor(step_));
      archive.write("ichnet.lr", torch::tensor(lr_, torch::kFloat64));
      archive.write("ichnet.grad_scale", torch::tensor(grad_scale_, torch::kFloat64));
      io::FileWriter out((tmp / kOptimizerFile).string());
      archive.save_to(out.sink());
      out.commit();
    }
    for (const auto& [name, text] : extra) io::writeFile((tmp / name).string(), text);
    const bool existed = fs::exists(target);
    if (existed && exchange(tmp, target)) {
      fs::remove_all(tmp, ec);  // now the previous checkpoint; a failure here leaves a leftover only
      return;
    }
    if (existed) {
      fs::rename(target, old, ec);
      check(ec, target, "cannot move the previous checkpoint aside");
    }
    fs::rename(tmp, target, ec);
    check(ec, target, "cannot move the new checkpoint into place");
    fs::remove_all(old, ec);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    if (!fs::exists(target) && fs::exists(old)) fs::rename(old, target, ignored);
    throw;
  }
}

void Session::loadCheckpoint(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mutex_);
  enterWorkerThread();
  const fs::path root(dir);
  const auto model_path = (root / kModelFile).string();
  const auto optim_path = (root / kOptimizerFile).string();
  for (const auto& p : {model_path, optim_path}) {
    if (!fs::exists(p)) throw std::runtime_error(dir + ": not a checkpoint directory (" + p + " is missing)");
  }
  const auto report = io::loadStateDict(*model_, io::readSafetensors(model_path), model_path);
  if (!report.missing.empty() || !report.unexpected.empty()) {
    throw std::runtime_error(model_path + ": checkpoint does not match this model's configuration (" +
                             std::to_string(report.missing.size()) + " missing, " +
                             std::to_string(report.unexpected.size()) + " unexpected keys, e.g. '" +
                             (report.missing.empty() ? report.unexpected[0] : report.missing[0]) + "')");
  }
  torch::Tensor step, lr, scale;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(optim_path, device_);
    optimizer_->load(archive);
    archive.read("ichnet.step", step);
    archive.read("ichnet.lr", lr);
    archive.read("ichnet.grad_scale", scale);
  } catch (const c10::Error& e) {
    throw std::runtime_error(optim_path + ": not a readable optimizer state (truncated or corrupt?): " +
                             e.what_without_backtrace());
  }
  step_ = step.item<int64_t>();
  lr_ = lr.item<double>();
  grad_scale_ = scale.item<double>();
  session::setLearningRate(*optimizer_, lr_, config_.optim.backbone_lr_mult);
}

void Session::syncReplicas() {
  std::lock_guard<std::mutex> lock(mutex_);
  enterWorkerThread();
  ddp("syncReplicas").sync();
}

std::vector<torch::Tensor> Session::allGather(const torch::Tensor& values) {
  std::lock_guard<std::mutex> lock(mutex_);
  enterWorkerThread();
  return ddp("allGather").group().allGather(values, "gathering evaluation results");
}

void Session::publishFailure(const std::string& cause) noexcept {
  if (ddp_) ddp_->group().publishFailure(cause);
}

SessionInfo Session::info() {
  std::lock_guard<std::mutex> lock(mutex_);
  enterWorkerThread();
  SessionInfo i;
  i.torch_version = TORCH_VERSION;
  i.device = device_.str();
  i.cuda_available = torch::cuda::is_available();
  i.cuda_device_count = static_cast<int64_t>(torch::cuda::device_count());
  i.cudnn_available = torch::cuda::cudnn_is_available();
  i.threads = at::get_num_threads();
  for (const auto& p : model_->parameters()) i.parameters += p.numel();
  const char* names[] = {"fp32", "bf16", "fp16"};
  i.precision = names[static_cast<int>(config_.precision)];
  i.step = step_;
  i.learning_rate = lr_;
  if (ddp_) {
    i.rank = ddp_->group().rank();
    i.world_size = ddp_->group().size();
    i.backend = ddp_->group().backend();
  }
  return i;
}

}  // namespace ichnet::session
