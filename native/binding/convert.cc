#include "binding/convert.h"
#include "binding/typed_array.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <string>

#include "prep/augment.h"

namespace ichnet::binding {

namespace {

[[noreturn]] void typeError(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }
[[noreturn]] void rangeError(Napi::Env env, const std::string& msg) { throw Napi::RangeError::New(env, msg); }

Napi::Value field(const Napi::Object& obj, const std::string& key, const std::string& path) {
  if (!obj.Has(key)) typeError(obj.Env(), path + ": missing");
  return obj.Get(key);
}

Napi::Object objectAt(const Napi::Object& obj, const std::string& key, const std::string& path) {
  const auto v = field(obj, key, path);
  if (!v.IsObject() || v.IsArray()) typeError(obj.Env(), path + ": expected an object");
  return v.As<Napi::Object>();
}

double numberAt(const Napi::Object& obj, const std::string& key, const std::string& path) {
  const auto v = field(obj, key, path);
  if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue())) typeError(obj.Env(), path + ": expected a finite number");
  return v.As<Napi::Number>().DoubleValue();
}

int64_t integerAt(const Napi::Object& obj, const std::string& key, const std::string& path, int64_t min) {
  const double v = numberAt(obj, key, path);
  if (std::floor(v) != v || v < static_cast<double>(min)) {
    rangeError(obj.Env(), path + ": expected an integer >= " + std::to_string(min) + ", got " + std::to_string(v));
  }
  return static_cast<int64_t>(v);
}

std::string stringAt(const Napi::Object& obj, const std::string& key, const std::string& path) {
  const auto v = field(obj, key, path);
  if (!v.IsString()) typeError(obj.Env(), path + ": expected a string");
  return v.As<Napi::String>().Utf8Value();
}

bool boolAt(const Napi::Object& obj, const std::string& key, const std::string& path) {
  const auto v = field(obj, key, path);
  if (!v.IsBoolean()) typeError(obj.Env(), path + ": expected a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::vector<double> numbersAt(const Napi::Object& obj, const std::string& key, const std::string& path) {
  const auto v = field(obj, key, path);
  if (!v.IsArray()) typeError(obj.Env(), path + ": expected an array of numbers");
  const auto arr = v.As<Napi::Array>();
  std::vector<double> out;
  for (uint32_t i = 0; i < arr.Length(); ++i) out.push_back(numberAt(arr, std::to_string(i), path + "[" + std::to_string(i) + "]"));
  return out;
}

template <typename Enum>
Enum choose(Napi::Env env, const std::string& value, const std::string& path,
            std::initializer_list<std::pair<const char*, Enum>> options) {
  std::string allowed;
  for (const auto& [name, e] : options) {
    if (value == name) return e;
    allowed += (allowed.empty() ? "'" : ", '") + std::string(name) + "'";
  }
  rangeError(env, path + ": expected one of " + allowed + ", got '" + value + "'");
}

std::array<double, 3> triple(const Napi::Object& obj, const std::string& key, const std::string& path) {
  const auto v = numbersAt(obj, key, path);
  if (v.size() != 3) rangeError(obj.Env(), path + ": expected 3 numbers");
  return {v[0], v[1], v[2]};
}

}  // namespace

prep::PrepConfig parsePrepConfig(const Napi::Object& p) {
  const Napi::Env env = p.Env();
  prep::PrepConfig c;
  const auto windows = field(p, "windows", "prep.windows");
  if (!windows.IsArray()) typeError(env, "prep.windows: expected an array of [center, width] pairs");
  const auto warr = windows.As<Napi::Array>();
  for (uint32_t i = 0; i < warr.Length(); ++i) {
    const std::string path = "prep.windows[" + std::to_string(i) + "]";
    const auto pair = numbersAt(warr, std::to_string(i), path);
    if (pair.size() != 2) rangeError(env, path + ": expected [center, width]");
    c.windows.push_back({pair[0], pair[1]});
  }
  // The pipeline writes 3 channels: from 3 windows, or from 1 (neighbouring slices) — never indexes past.
  if (c.windows.size() != 1 && c.windows.size() != 3) rangeError(env, "prep.windows: expected 1 or 3 windows (the model takes 3 channels)");
  c.mean = triple(p, "mean", "prep.mean");
  c.std = triple(p, "std", "prep.std");
  c.input_size = integerAt(p, "input_size", "prep.input_size", 1);
  const auto clahe = objectAt(p, "clahe", "prep.clahe");
  c.clahe.enabled = boolAt(clahe, "enabled", "prep.clahe.enabled");
  c.clahe.clip_limit = numberAt(clahe, "clip_limit", "prep.clahe.clip_limit");
  const auto tiles = numbersAt(clahe, "tiles", "prep.clahe.tiles");
  if (tiles.size() != 2 || tiles[0] < 1 || tiles[1] < 1 || std::floor(tiles[0]) != tiles[0] || std::floor(tiles[1]) != tiles[1]) {
    rangeError(env, "prep.clahe.tiles: expected [columns, rows] of positive integers");  // prep::clahe bounds them
  }
  c.clahe.tiles_x = static_cast<int64_t>(tiles[0]);
  c.clahe.tiles_y = static_cast<int64_t>(tiles[1]);
  c.channels = choose<prep::ChannelMode>(env, stringAt(p, "channels", "prep.channels"), "prep.channels",
                                              {{"windows", prep::ChannelMode::Windows}, {"neighbors", prep::ChannelMode::Neighbors}});
  c.where = choose<prep::PrepWhere>(env, stringAt(p, "where", "prep.where"), "prep.where",
                                    {{"auto", prep::PrepWhere::Auto}, {"host", prep::PrepWhere::Host}, {"device", prep::PrepWhere::Device}});
  c.crop = choose<prep::CropMode>(env, stringAt(p, "crop", "prep.crop"), "prep.crop",
                                  {{"none", prep::CropMode::None}, {"head", prep::CropMode::Head}});

  return c;
}

namespace {

/// `distributed`: null for one process, else where and how this rank joins its job.
distributed::DistConfig parseDistConfig(const Napi::Object& config) {
  distributed::DistConfig c;
  const auto v = field(config, "distributed", "distributed");
  if (v.IsNull()) return c;
  if (!v.IsObject() || v.IsArray()) typeError(config.Env(), "distributed: expected null or an object");
  const auto d = v.As<Napi::Object>();
  c.enabled = true;
  c.backend = stringAt(d, "backend", "distributed.backend");
  c.master_addr = stringAt(d, "master_addr", "distributed.master_addr");
  if (c.master_addr.empty()) rangeError(config.Env(), "distributed.master_addr: expected a host name or address");
  c.master_port = static_cast<int>(integerAt(d, "master_port", "distributed.master_port", 1));
  c.world_size = static_cast<int>(integerAt(d, "world_size", "distributed.world_size", 1));
  c.rank = static_cast<int>(integerAt(d, "rank", "distributed.rank", 0));
  c.timeout_ms = integerAt(d, "timeout_ms", "distributed.timeout_ms", 1);
  c.broadcast_buffers = boolAt(d, "broadcast_buffers", "distributed.broadcast_buffers");
  c.sync_bn = boolAt(d, "sync_bn", "distributed.sync_bn");
  c.bucket_cap_mb = integerAt(d, "bucket_cap_mb", "distributed.bucket_cap_mb", 1);
  c.fingerprint = stringAt(d, "fingerprint", "distributed.fingerprint");
  return c;
}

}  // namespace

session::SessionConfig parseSessionConfig(const Napi::Object& config) {
  using model::RnnKind;
  const Napi::Env env = config.Env();
  session::SessionConfig c;

  const auto m = objectAt(config, "model", "model");
  c.model.batch_norm = choose<bool>(env, stringAt(m, "backbone", "model.backbone"), "model.backbone",
                                    {{"vgg16", false}, {"vgg16_bn", true}});
  c.model.width = numberAt(m, "width", "model.width");
  const auto labels = field(m, "labels", "model.labels");
  if (!labels.IsArray() || labels.As<Napi::Array>().Length() == 0) typeError(env, "model.labels: expected a non-empty array of label names");
  c.model.num_labels = labels.As<Napi::Array>().Length();
  const std::initializer_list<std::pair<const char*, RnnKind>> rnns = {{"lstm", RnnKind::Lstm}, {"gru", RnnKind::Gru}, {"none", RnnKind::None}};
  c.model.label_rnn = choose<RnnKind>(env, stringAt(m, "label_rnn", "model.label_rnn"), "model.label_rnn", rnns);
  c.model.slice_rnn = choose<RnnKind>(env, stringAt(m, "slice_rnn", "model.slice_rnn"), "model.slice_rnn", rnns);
  c.model.label_hidden = integerAt(m, "label_hidden", "model.label_hidden", 1);
  c.model.slice_hidden = integerAt(m, "slice_hidden", "model.slice_hidden", 1);

  c.prep = parsePrepConfig(objectAt(config, "prep", "prep"));

  const auto l = objectAt(config, "loss", "loss");
  c.loss.gamma_neg = numberAt(l, "gamma_neg", "loss.gamma_neg");
  c.loss.gamma_pos = numberAt(l, "gamma_pos", "loss.gamma_pos");
  c.loss.clip = numberAt(l, "clip", "loss.clip");
  c.loss.eps = numberAt(l, "eps", "loss.eps");
  c.loss.aux_weight = numberAt(l, "aux_weight", "loss.aux_weight");

  const auto o = objectAt(config, "optim", "optim");
  c.optim.kind = choose<session::OptimizerKind>(env, stringAt(o, "name", "optim.name"), "optim.name",
                                                {{"adam", session::OptimizerKind::Adam},
                                                 {"adamw", session::OptimizerKind::AdamW},
                                                 {"sgd", session::OptimizerKind::Sgd}});
  c.optim.lr = numberAt(o, "lr", "optim.lr");
  const auto betas = numbersAt(o, "betas", "optim.betas");
  if (betas.size() != 2) rangeError(env, "optim.betas: expected 2 numbers");
  c.optim.beta1 = betas[0];
  c.optim.beta2 = betas[1];
  c.optim.momentum = numberAt(o, "momentum", "optim.momentum");
  c.optim.weight_decay = numberAt(o, "weight_decay", "optim.weight_decay");
  c.optim.backbone_lr_mult = numberAt(o, "backbone_lr_mult", "optim.backbone_lr_mult");
  c.optim.grad_clip = numberAt(o, "grad_clip", "optim.grad_clip");
  using Foreach = session::OptimConfig::Foreach;
  c.optim.foreach = choose<Foreach>(env, stringAt(o, "foreach", "optim.foreach"), "optim.foreach",
                                    {{"auto", Foreach::Auto}, {"on", Foreach::On}, {"off", Foreach::Off}});

  c.device = stringAt(config, "device", "device");
  c.threads = static_cast<int>(integerAt(config, "threads", "threads", 0));
  c.seed = static_cast<uint64_t>(integerAt(config, "seed", "seed", 0));
  c.precision = choose<session::Precision>(env, stringAt(config, "precision", "precision"), "precision",
                                           {{"fp32", session::Precision::Fp32},
                                            {"bf16", session::Precision::Bf16},
                                            {"fp16", session::Precision::Fp16}});
  c.channels_last = boolAt(config, "channels_last", "channels_last");
  c.distributed = parseDistConfig(config);
  return c;
}

session::Batch parseBatch(const Napi::Value& value, int64_t num_labels, bool labels_required) {
  const Napi::Env env = value.Env();
  if (!value.IsObject()) typeError(env, "batch: expected an object { images, shape, lengths, labels? }");
  const auto obj = value.As<Napi::Object>();
  const auto shape_v = numbersAt(obj, "shape", "batch.shape");
  if (shape_v.size() != 5) rangeError(env, "batch.shape: expected [patients, slices, channels, height, width]");
  std::vector<int64_t> shape;
  for (size_t i = 0; i < 5; ++i) {
    if (shape_v[i] < 1 || std::floor(shape_v[i]) != shape_v[i]) rangeError(env, "batch.shape: expected 5 positive integers");
    shape.push_back(static_cast<int64_t>(shape_v[i]));
  }
  const int64_t B = shape[0], S = shape[1], C = shape[2], H = shape[3], W = shape[4];

  const auto images = field(obj, "images", "batch.images");
  if (!images.IsTypedArray()) typeError(env, "batch.images: expected a Uint8Array (8-bit images), Int16Array (Hounsfield units) or Float32Array (preprocessed)");
  const auto arr = images.As<Napi::TypedArray>();
  torch::ScalarType dtype;
  switch (arr.TypedArrayType()) {
    case napi_uint8_array:
      dtype = torch::kUInt8;
      if (C != 1 && C != 3) rangeError(env, "batch.shape: 8-bit images need 1 (gray) or 3 (RGB) channels, got " + std::to_string(C));
      break;
    case napi_int16_array:
      dtype = torch::kInt16;
      if (C != 1) rangeError(env, "batch.shape: Hounsfield-unit images need 1 channel (windows make the 3), got " + std::to_string(C));
      break;
    case napi_float32_array:
      dtype = torch::kFloat32;
      if (C != 3) rangeError(env, "batch.shape: preprocessed float32 images need 3 channels, got " + std::to_string(C));
      if (H < 32 || W < 32) rangeError(env, "batch.shape: preprocessed images must be at least 32x32 (VGG16 pools 5 times)");
      break;
    default:
      typeError(env, "batch.images: expected a Uint8Array, Int16Array or Float32Array");
  }
  const int64_t expected = B * S * C * H * W;
  if (static_cast<int64_t>(arr.ElementLength()) != expected) {
    rangeError(env, "batch.images: holds " + std::to_string(arr.ElementLength()) + " values but shape [" +
                        std::to_string(B) + "," + std::to_string(S) + "," + std::to_string(C) + "," + std::to_string(H) +
                        "," + std::to_string(W) + "] needs " + std::to_string(expected));
  }
  session::Batch batch;
  batch.patients = B;
  batch.slices = S;
  batch.images = torch::from_blob(typedArrayData(arr, "batch.images"), {B, S, C, H, W}, torch::TensorOptions().dtype(dtype));

  const auto lengths = field(obj, "lengths", "batch.lengths");
  if (!lengths.IsTypedArray() || lengths.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    typeError(env, "batch.lengths: expected an Int32Array");
  }
  const auto lens = lengths.As<Napi::Int32Array>();
  if (static_cast<int64_t>(lens.ElementLength()) != B) {
    rangeError(env, "batch.lengths: expected " + std::to_string(B) + " lengths (one per patient), got " + std::to_string(lens.ElementLength()));
  }
  batch.lengths = torch::empty({B}, torch::kInt64);
  auto* out = batch.lengths.data_ptr<int64_t>();
  const int32_t* in = lens.Data();
  for (int64_t b = 0; b < B; ++b) {
    if (in[b] < 1 || in[b] > S) {
      rangeError(env, "batch.lengths[" + std::to_string(b) + "]: " + std::to_string(in[b]) + " is outside 1.." + std::to_string(S));
    }
    out[b] = in[b];
  }

  const auto aug = obj.Has("aug") ? obj.Get("aug") : env.Undefined();
  if (!aug.IsUndefined() && !aug.IsNull()) {
    if (!aug.IsTypedArray() || aug.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      typeError(env, "batch.aug: expected a Float32Array of per-patient augmentation parameters");
    }
    const auto a = aug.As<Napi::Float32Array>();
    if (static_cast<int64_t>(a.ElementLength()) != B * prep::kAugParamCount) {
      rangeError(env, "batch.aug: expected " + std::to_string(B * prep::kAugParamCount) + " values (patients x " +
                          std::to_string(prep::kAugParamCount) + " parameters), got " + std::to_string(a.ElementLength()));
    }
    for (size_t i = 0; i < a.ElementLength(); ++i) {
      if (!std::isfinite(a.Data()[i])) rangeError(env, "batch.aug[" + std::to_string(i) + "]: not a finite number");
    }
    batch.aug = torch::from_blob(const_cast<float*>(a.Data()), {B, prep::kAugParamCount}, torch::kFloat32);
  }

  if (num_labels <= 0) return batch;  // a caller that has no use for labels
  const bool has_labels = obj.Has("labels") && !obj.Get("labels").IsUndefined() && !obj.Get("labels").IsNull();
  if (!has_labels) {
    if (labels_required) typeError(env, "batch.labels: required for this call (a Uint8Array of 0/1, patients x slices x labels)");
    return batch;
  }
  const auto labels = obj.Get("labels");
  if (!labels.IsTypedArray() || labels.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    typeError(env, "batch.labels: expected a Uint8Array of 0/1");
  }
  const auto lab = labels.As<Napi::Uint8Array>();
  if (static_cast<int64_t>(lab.ElementLength()) != B * S * num_labels) {
    rangeError(env, "batch.labels: expected " + std::to_string(B * S * num_labels) + " values (patients x slices x " +
                        std::to_string(num_labels) + " labels), got " + std::to_string(lab.ElementLength()));
  }
  const uint8_t* values = lab.Data();
  for (size_t i = 0; i < lab.ElementLength(); ++i) {
    if (values[i] > 1) rangeError(env, "batch.labels[" + std::to_string(i) + "]: expected 0 or 1, got " + std::to_string(values[i]));
  }
  batch.labels = torch::from_blob(const_cast<uint8_t*>(lab.Data()), {B, S, num_labels}, torch::TensorOptions().dtype(torch::kUInt8));
  return batch;
}

Napi::Float32Array adoptFloat32(Napi::Env env, torch::Tensor t) {
  t = t.to(torch::kCPU, torch::kFloat32).contiguous();
  const auto n = static_cast<size_t>(t.numel());
#if !defined(NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED)
  if (n > 0) {
    auto owner = std::make_unique<torch::Tensor>(t);
    try {
      auto buffer = Napi::ArrayBuffer::New(
          env, owner->data_ptr<float>(), n * sizeof(float),
          [](Napi::Env, void*, torch::Tensor* tensor) { std::unique_ptr<torch::Tensor> release(tensor); }, owner.get());
      owner.release();  // the finalizer owns it now
      return Napi::Float32Array::New(env, n, buffer, 0);
    } catch (const Napi::Error&) {
      // External buffers not allowed here (e.g. a V8 sandbox): copy below; `owner` frees the tensor.
    }
  }
#endif
  auto out = Napi::Float32Array::New(env, n);
  if (n > 0) std::memcpy(out.Data(), t.data_ptr<float>(), n * sizeof(float));
  return out;
}

namespace {

Napi::Float32Array toFloat32Array(Napi::Env env, const torch::Tensor& t) {
  auto out = Napi::Float32Array::New(env, t.numel());
  std::memcpy(out.Data(), t.data_ptr<float>(), t.numel() * sizeof(float));
  return out;
}

Napi::Array strings(Napi::Env env, const std::vector<std::string>& v) {
  auto arr = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) arr.Set(i, v[i]);
  return arr;
}

}  // namespace

Napi::Object stepResultToJs(Napi::Env env, const session::StepResult& r) {
  auto o = Napi::Object::New(env);
  o.Set("loss", r.loss);
  if (!std::isnan(r.global_loss)) o.Set("globalLoss", r.global_loss);
  o.Set("logits", toFloat32Array(env, r.slice_logits));
  o.Set("patientProbs", toFloat32Array(env, r.patient_probs));
  return o;
}

torch::Tensor parseGradCamTargets(const Napi::Value& value, const session::Batch& batch, int64_t num_labels) {
  const Napi::Env env = value.Env();
  if (value.IsUndefined() || value.IsNull()) return torch::Tensor();
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    typeError(env, "gradCam targets: expected an Int32Array of (patient, slice, label) triples");
  }
  const auto arr = value.As<Napi::Int32Array>();
  if (arr.ElementLength() % 3 != 0) rangeError(env, "gradCam targets: length " + std::to_string(arr.ElementLength()) + " is not a multiple of 3");
  const auto lengths = batch.lengths.accessor<int64_t, 1>();
  auto out = torch::empty({static_cast<int64_t>(arr.ElementLength() / 3), 3}, torch::kInt64);
  auto* o = out.data_ptr<int64_t>();
  for (size_t i = 0; i < arr.ElementLength(); i += 3) {
    const int64_t b = arr[i], s = arr[i + 1], l = arr[i + 2];
    if (b < 0 || b >= batch.patients || s < 0 || s >= lengths[b] || l < 0 || l >= num_labels) {
      rangeError(env, "gradCam targets[" + std::to_string(i / 3) + "]: (" + std::to_string(b) + ", " + std::to_string(s) + ", " +
                          std::to_string(l) + ") is not a valid (patient, slice, label) of this batch");
    }
    o[i] = b;
    o[i + 1] = s;
    o[i + 2] = l;
  }
  return out;
}

namespace {

/// An integer tensor's values as a new Int32Array.
Napi::Int32Array toInt32Array(Napi::Env env, const torch::Tensor& t) {
  const auto v = t.to(torch::kInt32).contiguous();
  auto out = Napi::Int32Array::New(env, v.numel());
  std::memcpy(out.Data(), v.data_ptr<int32_t>(), v.numel() * sizeof(int32_t));
  return out;
}

}  // namespace

Napi::Object gradCamResultToJs(Napi::Env env, const model::GradCamResult& r) {
  auto o = Napi::Object::New(env);
  o.Set("logits", toFloat32Array(env, r.slice_logits));
  o.Set("maps", toFloat32Array(env, r.maps));
  auto shape = Napi::Array::New(env, 3);
  for (uint32_t i = 0; i < 3; ++i) shape.Set(i, static_cast<double>(r.maps.size(i)));
  o.Set("mapShape", shape);
  o.Set("targets", toInt32Array(env, r.targets));
  o.Set("boxes", toInt32Array(env, r.input_boxes));
  return o;
}

Napi::Object loadReportToJs(Napi::Env env, const io::LoadReport& r) {
  auto o = Napi::Object::New(env);
  o.Set("loaded", strings(env, r.loaded));
  o.Set("missing", strings(env, r.missing));
  o.Set("unexpected", strings(env, r.unexpected));
  return o;
}

Napi::Object sessionInfoToJs(Napi::Env env, const session::SessionInfo& i) {
  auto o = Napi::Object::New(env);
  o.Set("torchVersion", i.torch_version);
  o.Set("device", i.device);
  o.Set("cudaAvailable", i.cuda_available);
  o.Set("cudaDeviceCount", static_cast<double>(i.cuda_device_count));
  o.Set("cudnnAvailable", i.cudnn_available);
  o.Set("threads", i.threads);
  o.Set("parameters", static_cast<double>(i.parameters));
  o.Set("precision", i.precision);
  o.Set("step", static_cast<double>(i.step));
  o.Set("learningRate", i.learning_rate);
  o.Set("rank", i.rank);
  o.Set("worldSize", i.world_size);
  if (!i.backend.empty()) o.Set("backend", i.backend);
  return o;
}

}  // namespace ichnet::binding
