#pragma once
// The JS class NativeSession: each method validates its arguments synchronously, then runs the
// session call on a worker thread and returns a promise.
#include <napi.h>

#include <memory>

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
  Napi::Value setLearningRate(const Napi::CallbackInfo& info);
  Napi::Value loadWeights(const Napi::CallbackInfo& info);
  Napi::Value saveWeights(const Napi::CallbackInfo& info);
  Napi::Value saveCheckpoint(const Napi::CallbackInfo& info);
  Napi::Value loadCheckpoint(const Napi::CallbackInfo& info);
  Napi::Value info(const Napi::CallbackInfo& info);

  enum class StepKind { Train, Eval, Predict };
  Napi::Value step(const Napi::CallbackInfo& info, StepKind kind);
  std::shared_ptr<session::Session> session() const;

  std::shared_ptr<session::Session> session_;
  int64_t num_labels_ = 0;
};

}  // namespace ichnet::binding
