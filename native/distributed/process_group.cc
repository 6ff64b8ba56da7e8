#include "distributed/process_group.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/comm.hpp>
#ifdef ICHNET_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef ICHNET_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <fstream>
#include <csignal>
#include <cerrno>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unistd.h>

#include "common/exception_message.h"
#include "distributed/backends.h"
#include "distributed/compat.h"

namespace ichnet::distributed {

namespace {

constexpr const char* kRecordVersion = "ichnet-rendezvous-1";
// DDP's broadcast bucket (torch.nn.parallel.DistributedDataParallel.broadcast_bucket_size).
constexpr size_t kBroadcastBucketBytes = 250u * 1024 * 1024;

/// An error whose message is already complete (the rendezvous checks): passed on as it is.
struct JoinError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Whether process `pid` on this machine has exited (gone, or a zombie not yet reaped). After a
/// peer is killed its sockets close while it exits, so this waits up to a second for it to go.
bool hasExited(long pid) {
  for (int attempt = 0; attempt < 10; ++attempt) {
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return true;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (std::getline(stat, line)) {
      const auto close = line.rfind(')');
      if (close != std::string::npos && close + 2 < line.size() && (line[close + 2] == 'Z' || line[close + 2] == 'X')) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

std::string hostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "?";
  return buf;
}

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string text(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

}  // namespace

struct ProcessGroup::Record {
  int world_size = 0;
  std::string backend;
  std::string host;
  long pid = 0;
  std::string fingerprint;

  std::string encode() const {
    std::ostringstream out;
    out << kRecordVersion << '\n' << world_size << '\n' << backend << '\n' << host << '\n' << pid << '\n' << fingerprint;
    return out.str();
  }
  static Record decode(const std::string& s, int rank) {
    std::istringstream in(s);
    std::string version;
    Record r;
    std::getline(in, version);
    if (version != kRecordVersion) {
      throw JoinError("rank " + std::to_string(rank) + " is not an ichnet process of this version (another program on MASTER_PORT?)");
    }
    std::string line;
    std::getline(in, line);
    r.world_size = std::stoi(line);
    std::getline(in, r.backend);
    std::getline(in, r.host);
    std::getline(in, line);
    r.pid = std::stol(line);
    r.fingerprint.assign(std::istreambuf_iterator<char>(in), {});
    return r;
  }
};

namespace {

/// The first `key=value` line where two fingerprints differ, as "key: a here, b on rank r".
std::string firstDifference(const std::string& mine, const std::string& theirs, int their_rank) {
  std::istringstream a(mine), b(theirs);
  std::string la, lb;
  for (;;) {
    const bool ha = static_cast<bool>(std::getline(a, la));
    const bool hb = static_cast<bool>(std::getline(b, lb));
    if (!ha && !hb) return "";
    if (ha != hb || la != lb) {
      const auto key = (ha ? la : lb).substr(0, (ha ? la : lb).find('='));
      const auto value = [&](bool has, const std::string& l) {
        return has && l.rfind(key + "=", 0) == 0 ? l.substr(key.size() + 1) : std::string("(not set)");
      };
      return key + " = " + value(ha, la) + " here, " + value(hb, lb) + " on rank " + std::to_string(their_rank);
    }
  }
}

std::string seconds(std::chrono::milliseconds ms) {
  std::ostringstream out;
  out << static_cast<double>(ms.count()) / 1000.0 << " s";
  return out.str();
}

/// Whether a c10d error is a timeout. Gloo words it several ways ("Timed out waiting 3000ms for
/// recv operation", "Application timeout caused pair closure"), NCCL others ("Watchdog caught
/// collective operation timeout").
bool isTimeout(std::string cause) {
  std::transform(cause.begin(), cause.end(), cause.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return cause.find("timed out") != std::string::npos || cause.find("timeout") != std::string::npos;
}

std::mutex g_join_mutex;
// The process's group. Deliberately never destroyed: a process joins one job, and tearing a
// process group down at exit can block on a dead peer.
std::shared_ptr<ProcessGroup>* g_current = new std::shared_ptr<ProcessGroup>();

}  // namespace

ProcessGroup::ProcessGroup(const DistConfig& config, torch::Device device)
    : config_(config), backend_(chooseBackend(config.backend, device.is_cuda())),
      device_(backend_ == "nccl" ? device : torch::Device(torch::kCPU)), host_(hostName()) {}

std::shared_ptr<ProcessGroup> ProcessGroup::join(const DistConfig& config, torch::Device device) {
  std::lock_guard<std::mutex> lock(g_join_mutex);
  if (config.rank < 0 || config.world_size < 1 || config.rank >= config.world_size) {
    throw std::invalid_argument("distributed: rank " + std::to_string(config.rank) + " is not in 0.." +
                                std::to_string(config.world_size - 1) + " (RANK must be below WORLD_SIZE)");
  }
  if (config.master_port < 1 || config.master_port > 65535) {
    throw std::invalid_argument("distributed: MASTER_PORT " + std::to_string(config.master_port) + " is not a TCP port (1..65535)");
  }
  auto& current = *g_current;
  if (current) {
    const auto& c = current->config_;
    if (c.master_addr != config.master_addr || c.master_port != config.master_port || c.rank != config.rank ||
        c.world_size != config.world_size || c.backend != config.backend || c.timeout_ms != config.timeout_ms) {
      throw std::runtime_error("distributed: this process is already rank " + std::to_string(c.rank) + " of " +
                               std::to_string(c.world_size) + " in the job at " + c.master_addr + ":" +
                               std::to_string(c.master_port) + "; a process takes part in one job only");
    }
    if (current->device_.is_cuda() && current->device_ != device) {
      throw std::runtime_error("distributed: this rank's NCCL group is on " + current->device_.str() + ", not " + device.str());
    }
    return current;
  }
  std::shared_ptr<ProcessGroup> group(new ProcessGroup(config, device));
  group->rendezvous();
  current = group;
  return group;
}

void ProcessGroup::rendezvous() {
  const auto timeout = std::chrono::milliseconds(config_.timeout_ms);
  const std::string where = config_.master_addr + ":" + std::to_string(config_.master_port);
  const std::string me = "rank " + std::to_string(config_.rank) + " of " + std::to_string(config_.world_size);
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(config_.master_port);
  options.isServer = config_.rank == 0;
  options.waitWorkers = false;  // the joins are checked below, with messages that name the missing ranks
  options.timeout = timeout;
  try {
    store_ = c10::make_intrusive<c10d::TCPStore>(config_.master_addr, options);
  } catch (...) {
    const auto cause = describeCurrentException();
    if (config_.rank == 0) {
      throw std::runtime_error(me + ": cannot host the rendezvous at " + where + ": " + cause +
                               " (is the port in use by another job? choose another MASTER_PORT, or let `--nproc` pick a free one)");
    }
    throw std::runtime_error(me + ": cannot reach rank 0's rendezvous at " + where + " within " + seconds(timeout) + ": " + cause +
                             " (is rank 0 running, and do MASTER_ADDR and MASTER_PORT name its machine and port?)");
  }

  Record mine{config_.world_size, backend_, host_, static_cast<long>(::getpid()), config_.fingerprint};
  std::vector<Peer> peers;
  try {
    peers = checkPeers(mine, me, where);
  } catch (const JoinError& e) {
    // Let the others read why this rank stops; rank 0 hosts the store, so it stays a moment longer
    // for them to read its record and reach the same conclusion themselves.
    publishFailure(e.what());
    if (config_.rank == 0 && config_.world_size > 1) std::this_thread::sleep_for(std::chrono::seconds(2));
    throw;
  } catch (...) {
    throw std::runtime_error(me + ": the rendezvous at " + where + " failed: " + describeCurrentException() +
                             (config_.rank == 0 ? "" : " (did rank 0 stop? its own error says why)"));
  }
  peers_ = peers;

  auto prefixed = c10::make_intrusive<c10d::PrefixStore>("ichnet/pg", store_);
  guard("creating the " + backend_ + " process group", [&] {
#ifdef ICHNET_C10D_GLOO
    if (backend_ == "gloo") {
      auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout);
      if (const char* ifnames = std::getenv("GLOO_SOCKET_IFNAME"); ifnames && *ifnames) {
        std::istringstream list(ifnames);
        for (std::string name; std::getline(list, name, ',');) {
          gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
        }
      } else {
        gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      auto gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, config_.rank, config_.world_size, gloo_options);
      group_ = compat::asProcessGroup(gloo, prefixed, config_.rank, config_.world_size, "gloo", timeout, c10::DeviceType::CPU);
    }
#endif
#ifdef ICHNET_C10D_NCCL
    if (backend_ == "nccl") {
      auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
      nccl_options->timeout = timeout;
      auto nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, config_.rank, config_.world_size, nccl_options);
      group_ = compat::asProcessGroup(nccl, prefixed, config_.rank, config_.world_size, "nccl", timeout, c10::DeviceType::CUDA);
    }
#endif
    if (!group_) throw std::runtime_error("backend '" + backend_ + "' is not compiled in");
  });
}

std::vector<ProcessGroup::Peer> ProcessGroup::checkPeers(const Record& mine, const std::string& me, const std::string& where) {
  const auto timeout = std::chrono::milliseconds(config_.timeout_ms);
  const auto rank_key = [](int r) { return "ichnet/rank/" + std::to_string(r); };
  if (store_->add("ichnet/claimed/" + std::to_string(config_.rank), 1) > 1) {
    throw JoinError(me + ": another process already joined " + where + " as rank " + std::to_string(config_.rank) +
                    " (each process needs its own RANK)");
  }
  store_->set(rank_key(config_.rank), bytes(mine.encode()));
  // Every rank compares itself with every other, rank 0 first: a rank whose WORLD_SIZE is wrong
  // learns it from rank 0 instead of waiting for ranks that will never come.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<Peer> peers(config_.world_size);
  std::vector<int> missing;
  for (int r = 0; r < config_.world_size; ++r) {
    Record theirs = mine;
    if (r != config_.rank) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (!waitFor(rank_key(r), std::max(left, std::chrono::milliseconds(1)))) {
        missing.push_back(r);
        continue;
      }
      theirs = Record::decode(text(store_->get(rank_key(r))), r);
    }
    if (theirs.world_size != config_.world_size) {
      throw JoinError(me + ": world size mismatch: WORLD_SIZE is " + std::to_string(config_.world_size) + " here but " +
                      std::to_string(theirs.world_size) + " on rank " + std::to_string(r) +
                      "; start every rank with the same WORLD_SIZE (--nproc)");
    }
    if (theirs.backend != backend_) {
      throw JoinError(me + ": backend mismatch: '" + backend_ + "' here, '" + theirs.backend + "' on rank " + std::to_string(r) +
                      " (set distributed.backend explicitly, the same on every rank)");
    }
    if (theirs.fingerprint != config_.fingerprint) {
      throw JoinError(me + ": the experiment config differs between ranks: " + firstDifference(config_.fingerprint, theirs.fingerprint, r) +
                      " (every rank must run the same config)");
    }
    peers[r] = {theirs.host, theirs.pid};
  }
  if (!missing.empty()) {
    std::string list;
    for (int r : missing) list += (list.empty() ? "" : ", ") + std::to_string(r);
    throw JoinError(me + ": rank" + (missing.size() > 1 ? "s " : " ") + list + " did not join the rendezvous at " + where + " within " +
                    seconds(timeout) + " (were all " + std::to_string(config_.world_size) +
                    " ranks started, with the same MASTER_ADDR and MASTER_PORT?)");
  }
  return peers;
}

bool ProcessGroup::waitFor(const std::string& key, std::chrono::milliseconds timeout) {
  // Store::wait reports a timeout and a lost connection alike: tell them apart by the clock.
  const auto start = std::chrono::steady_clock::now();
  try {
    store_->wait({key}, timeout);
    return true;
  } catch (...) {
    if (std::chrono::steady_clock::now() - start + std::chrono::milliseconds(50) < timeout) throw;
    return false;
  }
}

std::string ProcessGroup::diagnose() const noexcept {
  std::string out;
  try {
    const auto& peers = peers_;
    std::vector<int> gone;
    for (int r = 0; r < static_cast<int>(peers.size()); ++r) {
      if (r == config_.rank || peers[r].host != host_ || peers[r].pid <= 0) continue;
      if (hasExited(peers[r].pid)) gone.push_back(r);
    }
    for (int r : gone) out += "; rank " + std::to_string(r) + " (pid " + std::to_string(peers[r].pid) + ") has exited";
    // What failed ranks recorded, read on a helper thread: a hung store must not hang the report.
    struct Shared {
      std::mutex m;
      std::condition_variable cv;
      bool done = false;
      std::string found;
    };
    auto shared = std::make_shared<Shared>();
    auto store = store_;
    const int size = config_.world_size, self = config_.rank;
    std::thread([shared, store, size, self] {
      std::string found;
      try {
        for (int r = 0; r < size; ++r) {
          const auto key = "ichnet/failed/" + std::to_string(r);
          if (r != self && store->check({key})) found += "; rank " + std::to_string(r) + " failed: " + text(store->get(key));
        }
      } catch (...) {
        if (found.empty()) found = "; the rendezvous store on rank 0 is unreachable";
      }
      std::lock_guard<std::mutex> lock(shared->m);
      shared->found = found;
      shared->done = true;
      shared->cv.notify_all();
    }).detach();
    std::unique_lock<std::mutex> lock(shared->m);
    if (shared->cv.wait_for(lock, std::chrono::seconds(3), [&] { return shared->done; })) out += shared->found;
  } catch (...) {
  }
  return out;
}

void ProcessGroup::guard(const std::string& what, const std::function<void()>& fn) const {
  try {
    fn();
  } catch (...) {
    const auto cause = describeCurrentException();
    const auto peers = diagnose();
    // A timeout with no rank known to have failed: say so in one wording, whatever the backend's.
    const auto why = peers.empty() && isTimeout(cause)
                         ? "timed out: no answer from the other ranks within " + seconds(std::chrono::milliseconds(config_.timeout_ms)) +
                               " (is a rank stopped, stuck or far slower than this one?); " + cause
                         : cause + peers;
    throw std::runtime_error("rank " + std::to_string(config_.rank) + " of " + std::to_string(config_.world_size) + ": " + what +
                             " failed: " + why);
  }
}

void ProcessGroup::publishFailure(const std::string& cause) const noexcept {
  try {
    if (store_) store_->set("ichnet/failed/" + std::to_string(config_.rank), bytes(cause));
  } catch (...) {
  }
}

void ProcessGroup::broadcast(const std::vector<torch::Tensor>& tensors, const std::string& what) const {
  if (tensors.empty()) return;
  guard(what, [&] {
    torch::NoGradGuard no_grad;
    c10d::broadcast_coalesced(group_, tensors, kBroadcastBucketBytes, 0);
  });
}

std::vector<torch::Tensor> ProcessGroup::allGather(const torch::Tensor& values, const std::string& what) const {
  std::vector<torch::Tensor> out;
  guard(what, [&] {
    const auto local = values.to(device_).contiguous().view({-1});
    std::vector<torch::Tensor> count_in{torch::tensor({local.numel()}, torch::TensorOptions().dtype(torch::kInt64).device(device_))};
    std::vector<std::vector<torch::Tensor>> counts(1);
    for (int r = 0; r < size(); ++r) counts[0].push_back(torch::empty_like(count_in[0]));
    group_->allgather(counts, count_in)->wait();
    int64_t longest = 1;
    for (const auto& c : counts[0]) longest = std::max(longest, c.item<int64_t>());
    std::vector<torch::Tensor> in{torch::zeros({longest}, local.options())};
    in[0].narrow(0, 0, local.numel()).copy_(local);
    std::vector<std::vector<torch::Tensor>> gathered(1);
    for (int r = 0; r < size(); ++r) gathered[0].push_back(torch::empty_like(in[0]));
    group_->allgather(gathered, in)->wait();
    for (int r = 0; r < size(); ++r) out.push_back(gathered[0][r].narrow(0, 0, counts[0][r].item<int64_t>()).cpu());
  });
  return out;
}

}  // namespace ichnet::distributed
