#pragma once
// Everything a training session needs, parsed from the TypeScript config (which holds the defaults).
#include <cstdint>
#include <string>

#include "distributed/config.h"
#include "loss/asl.h"
#include "model/config.h"
#include "prep/config.h"

namespace ichnet::session {

enum class OptimizerKind { Adam, AdamW, Sgd };
enum class Precision { Fp32, Bf16, Fp16 };

struct OptimConfig {
  OptimizerKind kind{};
  double lr{};
  double beta1{};
  double beta2{};
  double momentum{};
  double weight_decay{};
  double backbone_lr_mult{};  // the backbone's learning rate = lr * this
  double grad_clip{};         // max global grad norm; 0 = off
  enum class Foreach { Auto, On, Off } foreach = Foreach::Auto;  // multi-tensor Adam/AdamW
};

struct SessionConfig {
  model::ModelConfig model;
  prep::PrepConfig prep;
  loss::AslConfig loss;
  OptimConfig optim;
  std::string device;  // auto | cpu | cuda | cuda:<i>
  int threads{};       // intra-op threads on CPU
  uint64_t seed{};
  Precision precision{};
  bool channels_last{};
  distributed::DistConfig distributed;  // enabled = false: one process
};

}  // namespace ichnet::session
