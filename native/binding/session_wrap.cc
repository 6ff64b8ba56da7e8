#include "binding/session_wrap.h"

#include "binding/convert.h"
#include "binding/malloc_tuning.h"
#include "binding/promise_worker.h"
#include "memory/block_cache.h"

#include <future>

namespace ichnet::binding {

namespace {

std::string pathArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString() || info[i].As<Napi::String>().Utf8Value().empty()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + ": expected a non-empty path string");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

Napi::Value undefinedResult(Napi::Env env, bool&) { return env.Undefined(); }

struct Created {
  std::shared_ptr<session::Session> session;
  int64_t num_labels = 0;
};

}  // namespace

Napi::Function SessionWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeSession",
                     {
                         InstanceMethod<&SessionWrap::trainStep>("trainStep"),
                         InstanceMethod<&SessionWrap::evalStep>("evalStep"),
                         InstanceMethod<&SessionWrap::predict>("predict"),
                         InstanceMethod<&SessionWrap::stage>("stage"),
                         InstanceMethod<&SessionWrap::gradCam>("gradCam"),
                         InstanceMethod<&SessionWrap::setLearningRate>("setLearningRate"),
                         InstanceMethod<&SessionWrap::loadWeights>("loadWeights"),
                         InstanceMethod<&SessionWrap::saveWeights>("saveWeights"),
                         InstanceMethod<&SessionWrap::saveCheckpoint>("saveCheckpoint"),
                         InstanceMethod<&SessionWrap::loadCheckpoint>("loadCheckpoint"),
                         InstanceMethod<&SessionWrap::info>("info"),
                         InstanceMethod<&SessionWrap::syncReplicas>("syncReplicas"),
                         InstanceMethod<&SessionWrap::allGather>("allGather"),
                         InstanceMethod<&SessionWrap::publishFailure>("publishFailure"),
                         InstanceMethod<&SessionWrap::close>("close"),
                     });
}

SessionWrap::SessionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SessionWrap>(info) {}

template <typename Result>
Napi::Promise SessionWrap::run(Napi::Env env, std::function<Result()> job,
                               std::function<Napi::Value(Napi::Env, Result&)> to_js,
                               const std::vector<Napi::Value>& keep) const {
  return PromiseWorker<Result>::start(env, std::move(job), std::move(to_js), keep, thread_);
}

std::shared_ptr<session::Session> SessionWrap::session() const {
  if (closed_) throw Napi::Error::New(Env(), "this session is closed");
  if (!session_) throw Napi::Error::New(Env(), "NativeSession is not initialised: use createSession(config)");
  return session_;
}

Napi::Value SessionWrap::create(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "createSession: expected a config object");
  const auto config = parseSessionConfig(info[0].As<Napi::Object>());
  // The session is built on the thread that will run all its work.
  auto thread = std::make_shared<ComputeThread>();
  return PromiseWorker<Created>::start(
      env, [config] { return Created{std::make_shared<session::Session>(config), config.model.num_labels}; },
      [thread](Napi::Env env, Created& created) -> Napi::Value {
        auto obj = env.GetInstanceData<Napi::FunctionReference>()->New({});
        auto* wrap = SessionWrap::Unwrap(obj);
        wrap->session_ = std::move(created.session);
        wrap->num_labels_ = created.num_labels;
        wrap->thread_ = thread;
        return obj;
      },
      {}, thread);
}

session::PreparedInput SessionWrap::takeStaged(const Napi::Value& batch, bool augment) {
  if (staged_.batch.IsEmpty()) return {};
  const bool same = staged_.augment == augment && batch.StrictEquals(staged_.batch.Value());
  auto input = std::move(staged_.input);
  staged_ = Staged{};
  return same ? input : session::PreparedInput{};
}

Napi::Value SessionWrap::stage(const Napi::CallbackInfo& info) {
  auto s = session();
  const auto value = info.Length() > 0 ? info[0] : info.Env().Undefined();
  const auto batch = parseBatch(value, num_labels_, false);
  if (info.Length() < 2 || !info[1].IsString()) throw Napi::TypeError::New(info.Env(), "stage: expected mode 'train' or 'eval'");
  const auto mode = info[1].As<Napi::String>().Utf8Value();
  if (mode != "train" && mode != "eval") throw Napi::TypeError::New(info.Env(), "stage: expected mode 'train' or 'eval', got '" + mode + "'");
  const bool augment = mode == "train";
  if (!staging_thread_) staging_thread_ = std::make_shared<ComputeThread>();
  auto made = std::make_shared<std::promise<torch::Tensor>>();
  staged_ = Staged{Napi::Persistent(value.As<Napi::Object>()), augment, made->get_future().share()};
  // Queued on the staging thread now, not when a libuv thread gets to it: a step waiting for this
  // input on the session's thread then never depends on a free libuv thread.
  std::shared_future<void> ran = staging_thread_->post([s, batch, augment, made] {
    try {
      made->set_value(s->prepareInput(batch, augment));
    } catch (...) {
      made->set_exception(std::current_exception());
    }
  });
  // The libuv thread only waits; the promise holds the batch's arrays until staging has read them.
  return PromiseWorker<bool>::start(info.Env(), [ran] { ran.wait(); return true; }, undefinedResult, {value});
}

Napi::Value SessionWrap::step(const Napi::CallbackInfo& info, StepKind kind) {
  auto s = session();
  const auto batch = parseBatch(info.Length() > 0 ? info[0] : info.Env().Undefined(), num_labels_, kind != StepKind::Predict);
  const auto prepared = takeStaged(info[0], kind == StepKind::Train);
  std::vector<Napi::Value> keep = {info[0]};
  return run<session::StepResult>(
      info.Env(),
      [s, batch, kind, prepared] {
        switch (kind) {
          case StepKind::Train: return s->trainStep(batch, prepared);
          case StepKind::Eval: return s->evalStep(batch, prepared);
          default: return s->predict(batch, prepared);
        }
      },
      [](Napi::Env env, session::StepResult& r) -> Napi::Value { return stepResultToJs(env, r); }, keep);
}

Napi::Value SessionWrap::trainStep(const Napi::CallbackInfo& info) { return step(info, StepKind::Train); }
Napi::Value SessionWrap::evalStep(const Napi::CallbackInfo& info) { return step(info, StepKind::Eval); }
Napi::Value SessionWrap::predict(const Napi::CallbackInfo& info) { return step(info, StepKind::Predict); }

Napi::Value SessionWrap::gradCam(const Napi::CallbackInfo& info) {
  auto s = session();
  const auto batch = parseBatch(info.Length() > 0 ? info[0] : info.Env().Undefined(), num_labels_, false);
  const auto targets = parseGradCamTargets(info.Length() > 1 ? info[1] : info.Env().Undefined(), batch, num_labels_);
  std::vector<Napi::Value> keep = {info[0]};
  return run<model::GradCamResult>(
      info.Env(), [s, batch, targets] { return s->gradCam(batch, targets); },
      [](Napi::Env env, model::GradCamResult& r) -> Napi::Value { return gradCamResultToJs(env, r); }, keep);
}

Napi::Value SessionWrap::setLearningRate(const Napi::CallbackInfo& info) {
  auto s = session();
  if (info.Length() < 1 || !info[0].IsNumber() || !(info[0].As<Napi::Number>().DoubleValue() >= 0)) {
    throw Napi::TypeError::New(info.Env(), "setLearningRate: expected a number >= 0");
  }
  const double lr = info[0].As<Napi::Number>().DoubleValue();
  return run<bool>(info.Env(), [s, lr] { s->setLearningRate(lr); return true; }, undefinedResult);
}

Napi::Value SessionWrap::loadWeights(const Napi::CallbackInfo& info) {
  auto s = session();
  const auto path = pathArg(info, 0, "loadWeights");
  return run<io::LoadReport>(
      info.Env(), [s, path] { return s->loadWeights(path); },
      [](Napi::Env env, io::LoadReport& r) -> Napi::Value { return loadReportToJs(env, r); });
}

Napi::Value SessionWrap::saveWeights(const Napi::CallbackInfo& info) {
  auto s = session();
  const auto path = pathArg(info, 0, "saveWeights");
  return run<bool>(info.Env(), [s, path] { s->saveWeights(path); return true; }, undefinedResult);
}

Napi::Value SessionWrap::saveCheckpoint(const Napi::CallbackInfo& info) {
  auto s = session();
  const auto dir = pathArg(info, 0, "saveCheckpoint");
  std::map<std::string, std::string> extra;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    if (!info[1].IsObject()) throw Napi::TypeError::New(info.Env(), "saveCheckpoint: files must be an object of name -> text");
    const auto files = info[1].As<Napi::Object>();
    const auto names = files.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); ++i) {
      const auto name = names.Get(i).As<Napi::String>().Utf8Value();
      const auto text = files.Get(name);
      if (!text.IsString()) throw Napi::TypeError::New(info.Env(), "saveCheckpoint: files['" + name + "'] must be a string");
      extra[name] = text.As<Napi::String>().Utf8Value();
    }
  }
  return run<bool>(info.Env(), [s, dir, extra] { s->saveCheckpoint(dir, extra); return true; }, undefinedResult);
}

Napi::Value SessionWrap::loadCheckpoint(const Napi::CallbackInfo& info) {
  auto s = session();
  const auto dir = pathArg(info, 0, "loadCheckpoint");
  return run<bool>(info.Env(), [s, dir] { s->loadCheckpoint(dir); return true; }, undefinedResult);
}

Napi::Value SessionWrap::info(const Napi::CallbackInfo& info) {
  auto s = session();
  return run<session::SessionInfo>(
      info.Env(), [s] { return s->info(); },
      [](Napi::Env env, session::SessionInfo& i) -> Napi::Value { return sessionInfoToJs(env, i); });
}

Napi::Value SessionWrap::syncReplicas(const Napi::CallbackInfo& info) {
  auto s = session();
  return run<bool>(info.Env(), [s] { s->syncReplicas(); return true; }, undefinedResult);
}

Napi::Value SessionWrap::allGather(const Napi::CallbackInfo& info) {
  auto s = session();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(info.Env(), "allGather: expected a Float32Array");
  }
  const auto arr = info[0].As<Napi::Float32Array>();
  const auto values = torch::from_blob(const_cast<float*>(arr.Data()), {static_cast<int64_t>(arr.ElementLength())}, torch::kFloat32).clone();
  return run<std::vector<torch::Tensor>>(
      info.Env(), [s, values] { return s->allGather(values); },
      [](Napi::Env env, std::vector<torch::Tensor>& parts) -> Napi::Value {
        auto out = Napi::Array::New(env, parts.size());
        for (size_t r = 0; r < parts.size(); ++r) out.Set(r, adoptFloat32(env, parts[r]));
        return out;
      });
}

Napi::Value SessionWrap::publishFailure(const Napi::CallbackInfo& info) {
  auto s = session();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "publishFailure: expected a message string");
  const auto message = info[0].As<Napi::String>().Utf8Value();
  return PromiseWorker<bool>::start(info.Env(), [s, message] { s->publishFailure(message); return true; }, undefinedResult);
}

Napi::Value SessionWrap::close(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (closed_ || !session_) {
    closed_ = true;
    auto done = Napi::Promise::Deferred::New(env);
    done.Resolve(env.Undefined());
    return done.Promise();
  }
  closed_ = true;
  // Jobs queued before this one still run first (they hold their own references); this job joins
  // the staging thread (after the staging it still has queued, which an unused staged input may
  // be) and drops the wrap's reference, on the compute thread. The wrap lets go of the thread too:
  // it is joined when the last queued job's worker releases it.
  staged_ = Staged{};
  auto s = std::move(session_);
  auto staging = std::move(staging_thread_);
  auto thread = std::move(thread_);
  return PromiseWorker<bool>::start(
      env,
      [s, staging]() mutable {
        staging.reset();
        s.reset();
        memory::releaseCachedBlocks();
        releaseFreedMemory();
        return true;
      },
      undefinedResult, {}, std::move(thread));
}

}  // namespace ichnet::binding
