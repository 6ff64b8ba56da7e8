#pragma once
// One rank's membership of a data-parallel job: the rendezvous on c10d's TCPStore (rank 0 hosts
// it), the checks that every rank agrees on the world size, backend and experiment config, and a
// c10d process group (Gloo or NCCL). Every c10d call goes through `guard`, which turns a failure or
// a timeout into an error naming this rank, the rank that failed when it can be told, and the cause.
#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "distributed/config.h"

namespace ichnet::distributed {

class ProcessGroup {
 public:
  /// Joins the job described by `config` (blocking up to its timeout), or returns the group this
  /// process already joined: a process belongs to one job, and every session of it (one per
  /// training stage) shares the group. `device` is the session's device (NCCL needs CUDA).
  static std::shared_ptr<ProcessGroup> join(const DistConfig& config, torch::Device device);

  int rank() const { return config_.rank; }
  int size() const { return config_.world_size; }
  const std::string& backend() const { return backend_; }
  const DistConfig& config() const { return config_; }
  /// Where collectives' tensors live: the CPU for Gloo, the rank's GPU for NCCL.
  torch::Device device() const { return device_; }
  const c10::intrusive_ptr<c10d::ProcessGroup>& group() const { return group_; }

  /// Runs `fn` (c10d calls); any exception becomes a std::runtime_error that says what failed on
  /// which rank and why, naming the failed peer when the store or the process table tells.
  void guard(const std::string& what, const std::function<void()>& fn) const;

  /// Records this rank's failure in the store, so that the other ranks can name it and its cause.
  /// Never throws (the store may be gone).
  void publishFailure(const std::string& cause) const noexcept;

  /// Broadcasts `tensors` from rank 0 in place (coalesced into large messages, as DDP does).
  void broadcast(const std::vector<torch::Tensor>& tensors, const std::string& what) const;

  /// Every rank's vector (any dtype, the same on every rank), in rank order, on the CPU; lengths
  /// may differ between ranks.
  std::vector<torch::Tensor> allGather(const torch::Tensor& values, const std::string& what) const;

  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

 private:
  struct Record;  // what each rank publishes when it joins
  struct Peer {
    std::string host;
    long pid = 0;
  };
  ProcessGroup(const DistConfig& config, torch::Device device);
  void rendezvous();
  /// Publishes this rank's record and checks every rank's against it; throws JoinError.
  std::vector<Peer> checkPeers(const Record& mine, const std::string& me, const std::string& where);
  /// Waits for a store key: false on timeout, throws when the store is lost.
  bool waitFor(const std::string& key, std::chrono::milliseconds timeout);
  /// What can be told about the other ranks after a failure ("; rank 1 (pid 42) has exited").
  std::string diagnose() const noexcept;

  DistConfig config_;
  std::string backend_;
  torch::Device device_;
  std::string host_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroup> group_;
  std::vector<Peer> peers_;
};

}  // namespace ichnet::distributed
