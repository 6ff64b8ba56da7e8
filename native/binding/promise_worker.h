#pragma once
// Runs a job off the JS thread and settles a promise with its result: on a libuv worker thread, or,
// when given one, on a ComputeThread (a session's), with the libuv thread waiting for it. Every C++
// exception (LibTorch's c10::Error included) becomes a rejected promise with a plain message:
// nothing thrown in native code can reach the process boundary.
#include <napi.h>
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "binding/compute_thread.h"
#include "common/exception_message.h"

namespace ichnet::binding {

template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Job = std::function<Result()>;
  using ToJs = std::function<Napi::Value(Napi::Env, Result&)>;

  /// `keep` holds JS values (typed arrays the job reads) alive until the promise settles; `on` is
  /// the thread to run the job on (null: the libuv worker itself).
  static Napi::Promise start(Napi::Env env, Job job, ToJs to_js, const std::vector<Napi::Value>& keep = {},
                             std::shared_ptr<ComputeThread> on = nullptr) {
    auto* worker = new PromiseWorker(env, std::move(job), std::move(to_js), keep, std::move(on));  // owned by libuv; deletes itself
    auto promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 protected:
  void Execute() override {
    try {
      if (on_) {
        on_->run([this] { result_ = job_(); });
      } else {
        result_ = job_();
      }
    } catch (...) {
      SetError(describeCurrentException());
    }
  }
  void OnOK() override {
    Napi::HandleScope scope(Env());
    try {
      deferred_.Resolve(to_js_(Env(), result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (...) {
      deferred_.Reject(Napi::Error::New(Env(), describeCurrentException()).Value());
    }
  }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  PromiseWorker(Napi::Env env, Job job, ToJs to_js, const std::vector<Napi::Value>& keep,
                std::shared_ptr<ComputeThread> on)
      : Napi::AsyncWorker(env, "ichnet"), deferred_(Napi::Promise::Deferred::New(env)), job_(std::move(job)),
        to_js_(std::move(to_js)), on_(std::move(on)) {
    for (const auto& v : keep) keep_.push_back(Napi::Persistent(v));
  }

  Napi::Promise::Deferred deferred_;
  Job job_;
  ToJs to_js_;
  std::vector<Napi::Reference<Napi::Value>> keep_;
  std::shared_ptr<ComputeThread> on_;
  Result result_{};
};

}  // namespace ichnet::binding
