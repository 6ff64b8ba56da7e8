// The standalone `clahe` function (no session needed). Arguments are checked here, synchronously, so a
// bad call throws a TypeError/RangeError naming the argument before any work is queued; the work
// itself runs on a libuv worker thread (PromiseWorker), which turns any C++ exception into a
// rejected promise.
#include "binding/clahe_binding.h"

#include <cmath>
#include <cstring>
#include <optional>
#include <string>

#include "binding/promise_worker.h"
#include "prep/clahe.h"
#include "prep/clahe_plan.h"
#include "prep/clahe_tensor.h"
#include "session/session.h"

namespace ichnet::binding {

namespace {

double finiteArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber() || !std::isfinite(info[i].As<Napi::Number>().DoubleValue())) {
    throw Napi::TypeError::New(info.Env(), std::string("clahe: ") + name + ": expected a finite number");
  }
  return info[i].As<Napi::Number>().DoubleValue();
}

int64_t integerArg(const Napi::CallbackInfo& info, size_t i, const char* name, double min, double max) {
  const double v = finiteArg(info, i, name);
  if (std::floor(v) != v || v < min || v > max) {
    const std::string got = Napi::Number::New(info.Env(), v).ToString().Utf8Value();  // as JS prints it
    throw Napi::RangeError::New(info.Env(), std::string("clahe: ") + name + ": expected an integer in " +
                                                std::to_string(static_cast<int64_t>(min)) + ".." +
                                                std::to_string(static_cast<int64_t>(max)) + ", got " + got);
  }
  return static_cast<int64_t>(v);
}

/// clahe(image: Uint8Array, width, height, clipLimit, tilesX, tilesY, device?: string): one gray
/// image, row-major; with a device, as tensor operations there (clahe_tensor.h).
Napi::Value clahe(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (info.Length() < 6) {
    throw Napi::TypeError::New(env, "clahe: expected (image: Uint8Array, width, height, clipLimit, tilesX, tilesY)");
  }
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "clahe: image: expected a Uint8Array of width x height gray pixels");
  }
  auto image = info[0].As<Napi::Uint8Array>();
  constexpr double kMaxSide = 1 << 20;
  const int64_t width = integerArg(info, 1, "width", 1, kMaxSide);
  const int64_t height = integerArg(info, 2, "height", 1, kMaxSide);
  const double clip_limit = finiteArg(info, 3, "clipLimit");
  const int64_t tiles_x = integerArg(info, 4, "tilesX", 1, static_cast<double>(prep::ClahePlan::kMaxTiles));
  const int64_t tiles_y = integerArg(info, 5, "tilesY", 1, static_cast<double>(prep::ClahePlan::kMaxTiles));
  if (static_cast<int64_t>(image.ElementLength()) != width * height) {
    throw Napi::RangeError::New(env, "clahe: image: holds " + std::to_string(image.ElementLength()) + " bytes but " +
                                         std::to_string(width) + "x" + std::to_string(height) + " needs " +
                                         std::to_string(width * height));
  }
  std::optional<torch::Device> device;
  if (info.Length() > 6 && !info[6].IsUndefined()) {
    if (!info[6].IsString()) throw Napi::TypeError::New(env, "clahe: device: expected a string such as 'cpu' or 'cuda'");
    try {
      device = session::resolveDevice(info[6].As<Napi::String>().Utf8Value());
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("clahe: device: ") + e.what());
    }
  }
  uint8_t* data = image.Data();
  const std::vector<Napi::Value> keep = {image};  // the worker reads the caller's bytes in place
  return PromiseWorker<torch::Tensor>::start(
      env,
      [=] {
        const auto in = torch::from_blob(data, {1, height, width}, torch::TensorOptions().dtype(torch::kUInt8));
        if (!device) return prep::clahe(in, clip_limit, tiles_x, tiles_y);
        return prep::claheTensor(in.to(*device), clip_limit, tiles_x, tiles_y).cpu().contiguous();
      },
      [](Napi::Env env, torch::Tensor& out) -> Napi::Value {
        auto result = Napi::Uint8Array::New(env, static_cast<size_t>(out.numel()));
        std::memcpy(result.Data(), out.data_ptr<uint8_t>(), result.ByteLength());
        return result;
      },
      keep);
}

}  // namespace

void registerClahe(Napi::Env env, Napi::Object exports) {
  exports.Set("clahe", Napi::Function::New(env, clahe, "clahe"));
}

}  // namespace ichnet::binding
