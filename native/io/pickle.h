#pragma once
// A restricted, bounds-checked unpickler for exactly what torch.save emits for (nested) dicts of
// tensors (pth_reader.cc says why LibTorch's own unpickler does not do): pickle protocols up to 5,
// plain containers, scalars, strings, collections.OrderedDict, torch._utils._rebuild_tensor_v2 /
// _rebuild_parameter and the legacy typed storage classes (torch.FloatStorage, ...) in persistent
// ids. Any other global, object construction (NEWOBJ, INST, ...) and recursive or shared
// container mutation are rejected, so an untrusted file cannot execute code; every read is
// bounds-checked, so corrupt input yields PthError, never a crash.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/pickle_value.h"

namespace ichnet::io::pickle {

// What the pickle refers to outside itself, supplied by the archive reader.
class TorchObjects {
 public:
  virtual ~TorchObjects() = default;
  // The storage of persistent id ('storage', <storage class>, key, location, numel), with the
  // storage class's dtype (the location is ignored: everything is loaded on the CPU).
  virtual std::shared_ptr<Storage> storage(const std::string& key, c10::ScalarType dtype, int64_t numel) = 0;
  // torch._utils._rebuild_tensor_v2(*args).
  virtual torch::Tensor tensor(const std::vector<Value>& args) = 0;
};

// Runs the pickle in `data` (record `recordName`, named in error messages) up to STOP and returns
// the object it built. Throws PthError on anything unsupported or corrupt.
Value unpickle(const uint8_t* data, size_t size, const std::string& recordName, TorchObjects& objects);

}  // namespace ichnet::io::pickle
