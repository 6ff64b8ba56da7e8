#pragma once
// The c10d call whose C++ signature differs between LibTorch 1.13 and 2.x, in one place.
//
// 1.13: ProcessGroupGloo/NCCL *are* process groups. 2.x: they are backends that a ProcessGroup
// dispatches to, and the ProcessGroup constructor changed between minor versions. Within 2.x the
// variant is chosen at compile time by what the headers declare (if constexpr on a dependent
// type: the branch not taken is never instantiated).
#include <torch/version.h>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <string>
#include <type_traits>

namespace ichnet::distributed::compat {

#if TORCH_VERSION_MAJOR >= 2
template <typename PG, typename = void>
struct HasSetDefaultBackend : std::false_type {};
template <typename PG>
struct HasSetDefaultBackend<PG, std::void_t<decltype(std::declval<PG&>().setDefaultBackend(PG::BackendType::GLOO))>>
    : std::true_type {};
#endif

/// A c10d ProcessGroup that runs every collective on `backend` (a ProcessGroupGloo or
/// ProcessGroupNCCL) for tensors on `device_type`.
template <typename Backend, typename PG = c10d::ProcessGroup>
c10::intrusive_ptr<PG> asProcessGroup(const c10::intrusive_ptr<Backend>& backend, const c10::intrusive_ptr<c10d::Store>& store,
                                      int rank, int size, const std::string& name, std::chrono::milliseconds timeout,
                                      c10::DeviceType device_type) {
#if TORCH_VERSION_MAJOR < 2
  return backend;
#else
  c10::intrusive_ptr<PG> group;
  if constexpr (std::is_constructible_v<PG, c10::intrusive_ptr<c10d::Store>, int, int>) {
    group = c10::make_intrusive<PG>(store, rank, size);
  } else {
    group = c10::make_intrusive<PG>(store, rank, size, c10::make_intrusive<typename PG::Options>(name, timeout));
  }
  const auto type = name == "nccl" ? PG::BackendType::NCCL : PG::BackendType::GLOO;
  c10::intrusive_ptr<c10d::Backend> as_backend = backend;
  group->setBackend(device_type, type, as_backend);
  if constexpr (HasSetDefaultBackend<PG>::value) group->setDefaultBackend(type);
  return group;
#endif
}

}  // namespace ichnet::distributed::compat
