#pragma once
// A model, its optimizer and its device: the unit the binding drives. Every public method is
// thread-safe (one call at a time) and sets LibTorch's intra-op threads in the calling thread,
// since the binding runs each call on a libuv worker thread.
#include <torch/torch.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "io/weights.h"
#include "model/grad_cam.h"
#include "model/ichnet_model.h"
#include "session/batch.h"
#include "session/config.h"

namespace ichnet::session {

struct SessionInfo {
  std::string torch_version;
  std::string device;
  bool cuda_available{};
  int64_t cuda_device_count{};
  bool cudnn_available{};
  int threads{};
  int64_t parameters{};
  std::string precision;
  int64_t step{};
  double learning_rate{};
};

class Session {
 public:
  explicit Session(const SessionConfig& config);

  StepResult trainStep(const Batch& batch);
  StepResult evalStep(const Batch& batch);
  StepResult predict(const Batch& batch);
  /// Grad-CAM maps of `targets` (int64 [T, 3]: patient, slice, label; undefined = every valid slice
  /// and label) on the evaluation-mode model, in fp32 whatever the session's precision.
  model::GradCamResult gradCam(const Batch& batch, const torch::Tensor& targets);
  void setLearningRate(double lr);

  io::LoadReport loadWeights(const std::string& path);
  void saveWeights(const std::string& path);
  /// Writes model.safetensors, optimizer.pt and `extra` files to a temporary directory beside
  /// `dir`, then renames it into place, so a crash never leaves a torn checkpoint.
  void saveCheckpoint(const std::string& dir, const std::map<std::string, std::string>& extra);
  void loadCheckpoint(const std::string& dir);
  SessionInfo info();

 private:
  struct Forward;
  Forward forward(const Batch& batch, bool augment);
  torch::Tensor lossOf(const Forward& f, const Batch& batch) const;
  StepResult evaluate(const Batch& batch, bool with_loss);
  void enterWorkerThread() const;
  /// fp16 on CUDA: the loss is scaled before backward (dynamic loss scaling).
  bool scaledLoss() const;
  /// Unscales (fp16), clips and applies the gradients that backward left.
  void optimizerStep();

  SessionConfig config_;
  torch::Device device_;
  model::IchNet model_{nullptr};
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::mutex mutex_;
  int64_t step_ = 0;
  double lr_;
  double grad_scale_ = 65536.0;  // fp16 dynamic loss scaling
  int64_t good_steps_ = 0;
};

/// Parses auto | cpu | cuda | cuda:<i> and checks that the device exists.
torch::Device resolveDevice(const std::string& spec);

}  // namespace ichnet::session
