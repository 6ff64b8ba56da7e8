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

namespace ichnet::distributed {
class DataParallel;
}

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
  int rank = 0;            // in a data-parallel job; 0 otherwise
  int world_size = 1;
  std::string backend;     // the c10d backend, or empty
};

class Session {
 public:
  /// With `config.distributed.enabled`, joins the job (or the process's existing group) and
  /// broadcasts rank 0's parameters and buffers: a collective, as are trainStep and syncReplicas.
  explicit Session(const SessionConfig& config);
  ~Session();

  /// `prepared`, when valid, is this batch's input from prepareInput(batch, augment) (augment:
  /// true for trainStep); the step waits for it instead of preprocessing.
  StepResult trainStep(const Batch& batch, const PreparedInput& prepared = {});
  StepResult evalStep(const Batch& batch, const PreparedInput& prepared = {});
  StepResult predict(const Batch& batch, const PreparedInput& prepared = {});
  /// The model input of `batch` exactly as a step computes it (docs/ARCHITECTURE.md §3; with the
  /// augmentation of `batch.aug` when `augment`), on the session's device. Reads only the
  /// session's configuration, so it runs on a staging thread while a step runs on the session's
  /// own; that thread gets stagingThreads() intra-op threads.
  torch::Tensor prepareInput(const Batch& batch, bool augment) const;
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

  /// Data-parallel only (each a collective, on every rank in the same order): rank 0's parameters
  /// and buffers on every rank: after loading weights on rank 0 only, before evaluation or a checkpoint.
  void syncReplicas();
  /// Every rank's `values`, in rank order (sharded evaluation results).
  std::vector<torch::Tensor> allGather(const torch::Tensor& values);
  /// Tells the other ranks why this one is about to stop; no-op outside a job, never throws.
  void publishFailure(const std::string& cause) noexcept;

 private:
  struct Forward;
  /// The model input of `batch` on the calling thread, as it is set up; `boxes`, when given,
  /// receives the region of each patient's slices the input shows (prep/crop.h).
  torch::Tensor input(const Batch& batch, bool augment, std::vector<prep::Box>* boxes = nullptr) const;
  Forward forward(const Batch& batch, bool augment, const PreparedInput& prepared);
  /// Intra-op threads of the thread that calls prepareInput: see session.cc.
  int stagingThreads() const;
  torch::Tensor lossOf(const Forward& f, const Batch& batch) const;
  StepResult evaluate(const Batch& batch, bool with_loss, const PreparedInput& prepared);
  void enterWorkerThread() const;
  /// fp16 on CUDA: the loss is scaled before backward (dynamic loss scaling).
  bool scaledLoss() const;
  /// Unscales (fp16), clips and applies the gradients that backward left.
  void optimizerStep();
  /// The data-parallel wrapper, or a clear error outside a job.
  distributed::DataParallel& ddp(const char* what);

  SessionConfig config_;
  torch::Device device_;
  model::IchNet model_{nullptr};
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::mutex mutex_;
  int64_t step_ = 0;
  double lr_;
  double grad_scale_ = 65536.0;  // fp16 dynamic loss scaling
  int64_t good_steps_ = 0;
  std::unique_ptr<distributed::DataParallel> ddp_;  // set in a data-parallel job
};

/// Parses auto | cpu | cuda | cuda:<i> and checks that the device exists.
torch::Device resolveDevice(const std::string& spec);

}  // namespace ichnet::session
