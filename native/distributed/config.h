#pragma once
// How one rank joins a data-parallel job, parsed from the TypeScript config (which holds the
// defaults and reads torchrun's environment).
#include <cstdint>
#include <string>

namespace ichnet::distributed {

struct DistConfig {
  bool enabled = false;
  std::string backend;      // auto | gloo | nccl
  std::string master_addr;  // where rank 0 hosts the rendezvous store
  int master_port = 0;
  int rank = 0;
  int world_size = 1;
  int64_t timeout_ms = 0;   // rendezvous and every collective
  bool broadcast_buffers = true;  // BatchNorm statistics from rank 0 before every training forward
  bool sync_bn = false;     // BatchNorm batch statistics over all ranks
  int64_t bucket_cap_mb = 25;
  /// What must be equal on every rank (the resolved experiment config, minus rank-specific keys):
  /// compared at rendezvous, so mismatched configs fail there with a clear message.
  std::string fingerprint;
};

}  // namespace ichnet::distributed
