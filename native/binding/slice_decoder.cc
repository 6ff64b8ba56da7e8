// The native decode threads of the data loader (src/data/decode/pool.ts). The main thread hands
// one call per sequence of slices (paths, their places in a batch's SharedArrayBuffer); the
// threads read, parse and rescale each slice into its place, and the last slice of a call settles
// its promise through a thread-safe function. Nothing here runs JavaScript: a JS isolate per
// decode thread costs more CPU beside the work (garbage collection, compilation, messages) than
// the work itself on the cores it shares with training.
//
// Lifetimes: a call holds the batch memory (a reference to its typed array) and the JS wrapper
// (a strong reference) until its promise settles, so neither can go away under a thread. The
// threads stop at close() once nothing is in flight, when the wrapper is collected, or when the
// environment shuts down (the thread-safe function's finalizer joins them; calls still in flight
// then are dropped with the environment).
#include "binding/slice_decoder.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "binding/typed_array.h"
#include "common/exception_message.h"
#include "io/dicom_slice.h"
#include "io/hu_rescale.h"

namespace ichnet::binding {

namespace {

/// Numbers per slice in a call's outcomes: status, rows, columns, microseconds spent.
constexpr size_t kOutcome = 4;

/// One decode() call: its slices, where they go, and their outcomes.
struct Call {
  std::vector<std::string> paths;
  std::vector<uint8_t> rsna_fix;
  std::vector<size_t> offsets;  // elements into `images`
  int16_t* images = nullptr;    // null: parse only (status 2 with the slice's size)
  uint16_t rows = 0, columns = 0;
  std::vector<int32_t> outcomes;  // kOutcome per slice
  std::atomic<size_t> remaining{0};
  // Touched on the main thread only.
  std::unique_ptr<Napi::Promise::Deferred> deferred;
  std::unique_ptr<Napi::Reference<Napi::Value>> images_ref;
};

class Core;
void deliver(Napi::Env env, Napi::Function, Core* core, Call* call);
using Delivery = Napi::TypedThreadSafeFunction<Core, Call, deliver>;

class SliceDecoder;

/// The threads, their queue of slices, and the main thread's bookkeeping of calls in flight.
class Core {
 public:
  ~Core() { stop(); }

  void start(size_t threads) {
    for (size_t i = 0; i < threads; ++i) {
      threads_.emplace_back([this] {
        pthread_setname_np(pthread_self(), "ichnet-decode");  // as top and /proc show it
        loop();
      });
    }
  }

  void post(Call* call) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (size_t i = 0; i < call->paths.size(); ++i) queue_.push_back({call, i});
    }
    ready_.notify_all();
  }

  /// Stops the threads after the slice each is on (the rest of the queue is dropped); idempotent.
  void stop() {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      threads.swap(threads_);
    }
    ready_.notify_all();
    for (auto& t : threads) t.join();
  }

  // Main thread only.
  Delivery delivery;
  bool released = false;   // delivery.Release() called
  bool finalized = false;  // the thread-safe function is gone (released, or the environment ended)
  bool closing = false;    // close() called: no new calls
  size_t in_flight = 0;
  SliceDecoder* owner = nullptr;

  void finished(Napi::Env env);
  void shutdown() {
    closing = true;
    stop();
    if (!released && !finalized) {
      released = true;
      delivery.Release();
    }
  }

 private:
  struct Task {
    Call* call;
    size_t index;
  };

  void loop() {
    std::vector<uint8_t> buffer;  // this thread's file bytes, reused from slice to slice
    for (;;) {
      Task task{};
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        task = queue_.front();
        queue_.pop_front();
      }
      decodeOne(*task.call, task.index, buffer);
      if (task.call->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        // Fails only while the environment shuts down; the call is then dropped with it.
        (void)delivery.NonBlockingCall(task.call);
      }
    }
  }

  static void decodeOne(Call& call, size_t i, std::vector<uint8_t>& buffer) noexcept {
    int32_t* out = &call.outcomes[kOutcome * i];
    const auto started = std::chrono::steady_clock::now();
    struct Timer {
      int32_t* out;
      std::chrono::steady_clock::time_point started;
      ~Timer() {
        out[3] = static_cast<int32_t>(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
      }
    } timer{out, started};
    try {
      const auto size = io::readWholeFile(call.paths[i], buffer);
      if (!size) return;  // declined: the JS path reads it again and reports the error in its words
      const auto slice = io::parseGreySlice(buffer.data(), *size);
      if (!slice) return;
      out[1] = slice->rows;
      out[2] = slice->columns;
      if (!call.images || slice->rows != call.rows || slice->columns != call.columns) {
        out[0] = 2;
        return;
      }
      const size_t plane = static_cast<size_t>(slice->rows) * slice->columns;
      io::storedToHu(buffer.data() + slice->pixel_offset, slice->type, plane, call.images + call.offsets[i],
                     io::huRescaleOf(*slice, call.rsna_fix[i] != 0));
      out[0] = 1;
    } catch (...) {
      out[0] = 0;  // e.g. no memory for a larger read buffer: declined like any other doubt
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Task> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

class SliceDecoder : public Napi::ObjectWrap<SliceDecoder> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "SliceDecoder",
                       {InstanceMethod<&SliceDecoder::decode>("decode"), InstanceMethod<&SliceDecoder::close>("close")});
  }

  explicit SliceDecoder(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SliceDecoder>(info) {
    const Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "SliceDecoder(threads): expected a number");
    const double threads = info[0].As<Napi::Number>().DoubleValue();
    if (!(threads >= 1 && threads <= 1024) || threads != std::floor(threads)) {
      throw Napi::RangeError::New(env, "SliceDecoder(threads): threads must be an integer in 1..1024");
    }
    core_ = std::make_shared<Core>();
    core_->owner = this;
    // The finalizer holds the core: threads may still call the function until it has run.
    auto* keep = new std::shared_ptr<Core>(core_);
    core_->delivery = Delivery::New(env, "ichnet slice decoder", 0, 1, core_.get(), [](Napi::Env, std::shared_ptr<Core>* held, Core*) {
      (*held)->finalized = true;
      (*held)->stop();
      delete held;
    }, keep);
    core_->delivery.Unref(env);  // an idle decoder never keeps the process alive
    try {
      core_->start(static_cast<size_t>(threads));
    } catch (...) {
      core_->shutdown();
      throw Napi::Error::New(env, "SliceDecoder: cannot start threads: " + describeCurrentException());
    }
  }

  ~SliceDecoder() override {
    core_->owner = nullptr;
    core_->shutdown();
  }

  /// Called by the core when a call has settled.
  void settled(Napi::Env env) {
    if (core_->in_flight == 0) {
      core_->delivery.Unref(env);
      Unref();
      if (core_->closing) core_->shutdown();
    }
  }

 private:
  Napi::Value decode(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    if (core_->closing) throw Napi::Error::New(env, "SliceDecoder: closed");
    if (info.Length() < 6 || !info[0].IsArray() || !info[1].IsTypedArray() || !info[2].IsTypedArray() || !info[4].IsNumber() ||
        !info[5].IsNumber()) {
      throw Napi::TypeError::New(env, "SliceDecoder.decode(paths, rsnaFix, offsets, images, rows, columns): bad arguments");
    }
    const auto paths = info[0].As<Napi::Array>();
    const auto fix = info[1].As<Napi::TypedArray>();
    const auto offsets = info[2].As<Napi::TypedArray>();
    const size_t n = paths.Length();
    if (fix.TypedArrayType() != napi_uint8_array || fix.ElementLength() != n || offsets.TypedArrayType() != napi_float64_array ||
        offsets.ElementLength() != n) {
      throw Napi::TypeError::New(env, "SliceDecoder.decode: rsnaFix must be a Uint8Array and offsets a Float64Array, one per path");
    }
    const double rows = info[4].As<Napi::Number>().DoubleValue(), columns = info[5].As<Napi::Number>().DoubleValue();
    if (!(rows >= 0 && rows <= 65535 && rows == std::floor(rows) && columns >= 0 && columns <= 65535 && columns == std::floor(columns))) {
      throw Napi::RangeError::New(env, "SliceDecoder.decode: rows and columns must be integers in 0..65535");
    }
    auto call = std::make_unique<Call>();
    call->rows = static_cast<uint16_t>(rows);
    call->columns = static_cast<uint16_t>(columns);
    call->paths.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      const Napi::Value path = paths.Get(i);
      if (!path.IsString()) throw Napi::TypeError::New(env, "SliceDecoder.decode: paths must be strings");
      call->paths.push_back(path.As<Napi::String>().Utf8Value());
    }
    const auto* fix_data = static_cast<const uint8_t*>(typedArrayData(fix, "SliceDecoder.decode: rsnaFix"));
    call->rsna_fix.assign(fix_data, fix_data + n);
    if (!info[3].IsUndefined()) {
      if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_int16_array) {
        throw Napi::TypeError::New(env, "SliceDecoder.decode: images must be an Int16Array");
      }
      const auto images = info[3].As<Napi::TypedArray>();
      const size_t length = images.ElementLength();
      const size_t plane = static_cast<size_t>(call->rows) * call->columns;
      const auto* at = static_cast<const double*>(typedArrayData(offsets, "SliceDecoder.decode: offsets"));
      for (size_t i = 0; i < n; ++i) {
        // Memory safety: every slice's place lies inside the array.
        if (!(at[i] >= 0 && at[i] == std::floor(at[i]) && at[i] <= static_cast<double>(length) && plane <= length - static_cast<size_t>(at[i]))) {
          throw Napi::RangeError::New(env, "SliceDecoder.decode: slice " + std::to_string(i) + "'s offset does not fit in images");
        }
        call->offsets.push_back(static_cast<size_t>(at[i]));
      }
      call->images = static_cast<int16_t*>(typedArrayData(images, "SliceDecoder.decode: images"));
      call->images_ref = std::make_unique<Napi::Reference<Napi::Value>>(Napi::Persistent(info[3]));
    }
    call->outcomes.assign(kOutcome * n, 0);
    call->remaining = n;
    call->deferred = std::make_unique<Napi::Promise::Deferred>(Napi::Promise::Deferred::New(env));
    auto promise = call->deferred->Promise();
    if (n == 0) {
      call->deferred->Resolve(Napi::Int32Array::New(env, 0));
      return promise;
    }
    if (core_->in_flight++ == 0) {
      core_->delivery.Ref(env);  // the loop stays alive while slices are decoding
      Ref();                     // and this object with it
    }
    core_->post(call.release());
    return promise;
  }

  void close(const Napi::CallbackInfo&) {
    core_->closing = true;
    if (core_->in_flight == 0) core_->shutdown();
  }

  std::shared_ptr<Core> core_;
};

void Core::finished(Napi::Env env) {
  --in_flight;
  if (owner) {
    owner->settled(env);
  } else if (in_flight == 0) {
    shutdown();
  }
}

void deliver(Napi::Env env, Napi::Function, Core* core, Call* raw) {
  std::unique_ptr<Call> call(raw);
  if (env == nullptr) {
    // The environment is shutting down: its handles are no longer ours to free.
    (void)call->deferred.release();
    (void)call->images_ref.release();
    return;
  }
  try {
    Napi::HandleScope scope(env);
    try {
      auto outcomes = Napi::Int32Array::New(env, call->outcomes.size());
      std::copy(call->outcomes.begin(), call->outcomes.end(), outcomes.Data());
      call->deferred->Resolve(outcomes);
    } catch (const Napi::Error& e) {
      call->deferred->Reject(e.Value());
    }
    core->finished(env);
  } catch (...) {
    // Only when the environment can no longer run JavaScript (a worker thread being terminated):
    // the promise goes with it, and nothing may be thrown from here.
  }
}

}  // namespace

void registerSliceDecoder(Napi::Env env, Napi::Object exports) { exports.Set("SliceDecoder", SliceDecoder::define(env)); }

}  // namespace ichnet::binding
