#pragma once
// The JS class NativeSession: each method validates its arguments synchronously, then runs the
// session call on the session's own ComputeThread and returns a promise.
#include <napi.h>

#include <functional>
#include <memory>
#include <vector>

#include "binding/compute_thread.h"
#include "session/session.h"

namespace ichnet::binding {

class SessionWrap : public Napi::ObjectWrap<SessionWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  /// createSession(config) -> Promise<NativeSession>; the model is built off the JS thread.
  static Napi::Value create(const Napi::CallbackInfo& info);
  explicit SessionWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value trainStep(const Napi::CallbackInfo& info);
  Napi::Value evalStep(const Napi::CallbackInfo& info);
  Napi::Value predict(const Napi::CallbackInfo& info);
  /// stage(batch, 'train' | 'eval') -> Promise<void>: prepares the batch's model input on this
  /// session's staging thread now, for the next trainStep (train) or evalStep/predict (eval) given
  /// this same batch object to use instead of preprocessing. The promise settles when staging has
  /// finished and no longer reads the batch; it resolves even when staging failed: the step that
  /// uses the batch rejects with that error.
  Napi::Value stage(const Napi::CallbackInfo& info);
  /// gradCam(batch, targets?) -> Promise<{ logits, maps, mapShape, targets }>.
  Napi::Value gradCam(const Napi::CallbackInfo& info);
  Napi::Value setLearningRate(const Napi::CallbackInfo& info);
  Napi::Value loadWeights(const Napi::CallbackInfo& info);
  Napi::Value saveWeights(const Napi::CallbackInfo& info);
  Napi::Value saveCheckpoint(const Napi::CallbackInfo& info);
  Napi::Value loadCheckpoint(const Napi::CallbackInfo& info);
  Napi::Value info(const Napi::CallbackInfo& info);
  Napi::Value syncReplicas(const Napi::CallbackInfo& info);
  /// allGather(Float32Array) -> Promise<Float32Array[]>, one per rank.
  Napi::Value allGather(const Napi::CallbackInfo& info);
  /// publishFailure(message) -> Promise<void>: on a libuv thread, not the session's (which may be
  /// blocked in a collective waiting for the rank that failed).
  Napi::Value publishFailure(const Napi::CallbackInfo& info);
  /// Frees the model and optimizer on the session's thread, then lets that thread exit (its malloc
  /// arena and OpenMP team go back to the process for the next session to reuse). Idempotent.
  Napi::Value close(const Napi::CallbackInfo& info);

  enum class StepKind { Train, Eval, Predict };
  Napi::Value step(const Napi::CallbackInfo& info, StepKind kind);
  std::shared_ptr<session::Session> session() const;
  /// The staged input of `batch` for a step with or without augmentation, or none; either way the
  /// slot is emptied (a step that does not use the staged batch means it is not coming).
  session::PreparedInput takeStaged(const Napi::Value& batch, bool augment);
  /// Starts `job` on this session's thread; the promise settles with to_js(result).
  template <typename Result>
  Napi::Promise run(Napi::Env env, std::function<Result()> job, std::function<Napi::Value(Napi::Env, Result&)> to_js,
                    const std::vector<Napi::Value>& keep = {}) const;

  std::shared_ptr<session::Session> session_;
  std::shared_ptr<ComputeThread> thread_;
  /// Runs Session::prepareInput; started by the first stage() call.
  std::shared_ptr<ComputeThread> staging_thread_;
  /// The one staged batch (at most one: staging another replaces it): the JS batch it was made
  /// from (compared by identity), with or without augmentation, and its input.
  struct Staged {
    Napi::ObjectReference batch;
    bool augment = false;
    session::PreparedInput input;
  } staged_;
  int64_t num_labels_ = 0;
  bool closed_ = false;
};

}  // namespace ichnet::binding
