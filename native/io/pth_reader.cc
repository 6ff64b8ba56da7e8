// Reader for torch.save() zip archives (PyTorch >= 1.6) holding state dicts.
//
// Why a hand-written unpickler: LibTorch's own torch::pickle_load / torch::jit::Unpickler only
// understands the TorchScript subset of pickle. torch.save(model.state_dict()) pickles a
// `collections.OrderedDict`, which that unpickler turns into None ("Expected GenericDict but got
// None", seen with LibTorch 1.13). So pickle.h/.cc implement a small, restricted, bounds-checked
// unpickler for exactly what torch.save emits for (nested) dicts of tensors: plain containers,
// scalars, strings, OrderedDict, the tensor/parameter rebuild functions and the legacy typed
// storage classes. Anything else (arbitrary globals, object construction) is rejected, so loading
// an untrusted file cannot execute code; corrupt input yields std::runtime_error, never a crash.
// This file reads the zip records via caffe2::serialize::PyTorchStreamReader: it finds the
// pickle, turns the storage records `<archive>/data/<key>` into tensors, and flattens the
// unpickled dicts into "a.b.c" names.
#include "io/pth_reader.h"

#include <caffe2/serialize/inline_container.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "io/pickle.h"

namespace ichnet::io {
namespace {

using pickle::Dict;
using pickle::fail;
using pickle::keyText;
using pickle::kindName;
using pickle::showName;
using pickle::Storage;
using pickle::Value;

constexpr size_t kMaxFlattenVisits = 10'000'000;  // guards against exponential shared-subtree blowup
constexpr size_t kMaxDims = 64;

// ---------------------------------------------------------------------------------------------
// Tensor reconstruction
// ---------------------------------------------------------------------------------------------
std::vector<int64_t> intTuple(const Value& v, const char* what) {
  if ((v.kind != Value::Kind::Tuple && v.kind != Value::Kind::List) || !v.seq)
    fail(std::string("tensor ") + what + " is a " + kindName(v.kind) + ", expected a tuple");
  if (v.seq->items.size() > kMaxDims) fail(std::string("tensor ") + what + " has too many dimensions");
  std::vector<int64_t> out;
  for (const Value& e : v.seq->items) {
    if (e.kind != Value::Kind::Int || e.i < 0)
      fail(std::string("tensor ") + what + " must hold non-negative ints");
    out.push_back(e.i);
  }
  return out;
}

torch::Tensor rebuildTensor(const std::vector<Value>& args) {
  if (args.size() < 4) fail("_rebuild_tensor_v2 expects at least 4 arguments");
  const Value& st = args[0];
  if (st.kind != Value::Kind::Storage || !st.storage)
    fail(std::string("_rebuild_tensor_v2: first argument is a ") + kindName(st.kind) + ", expected a storage");
  if (args[1].kind != Value::Kind::Int || args[1].i < 0) fail("_rebuild_tensor_v2: bad storage offset");
  const int64_t offset = args[1].i;
  const std::vector<int64_t> size = intTuple(args[2], "size");
  const std::vector<int64_t> stride = intTuple(args[3], "stride");
  if (size.size() != stride.size()) fail("_rebuild_tensor_v2: size and stride lengths differ");

  Storage& storage = *st.storage;
  const int64_t storageNumel = storage.data.numel();
  const auto opts = storage.data.options();

  int64_t numel = 1;
  int64_t lastIndex = offset;  // highest element index touched
  for (size_t d = 0; d < size.size(); ++d) {
    if (__builtin_mul_overflow(numel, size[d], &numel)) fail("tensor size overflows");
  }
  if (numel == 0) return torch::empty(size, opts);
  for (size_t d = 0; d < size.size(); ++d) {
    int64_t span = 0;
    if (__builtin_mul_overflow(size[d] - 1, stride[d], &span) ||
        __builtin_add_overflow(lastIndex, span, &lastIndex))
      fail("tensor extent overflows");
  }
  if (lastIndex >= storageNumel) {
    fail("tensor view (offset " + std::to_string(offset) + ", last element " + std::to_string(lastIndex) +
         ") exceeds its storage of " + std::to_string(storageNumel) + " elements");
  }

  if (numel > storageNumel && numel > (int64_t{1} << 30)) {
    // Only overlapping/broadcast views (stride 0) get here; don't let a corrupt file make us
    // materialize terabytes from a handful of bytes.
    fail("implausibly large broadcast tensor view (" + std::to_string(numel) + " elements from a storage of " +
         std::to_string(storageNumel) + ")");
  }

  bool contiguous = true;
  int64_t expected = 1;
  for (size_t d = size.size(); d-- > 0;) {
    if (size[d] != 1 && stride[d] != expected) contiguous = false;
    expected *= size[d];
  }
  if (contiguous && offset == 0 && numel == storageNumel && !storage.handedOut) {
    storage.handedOut = true;  // first full, dense use of this storage: no copy needed
    return storage.data.view(size);
  }
  return storage.data.as_strided(size, stride, offset).clone(at::MemoryFormat::Contiguous);
}

// ---------------------------------------------------------------------------------------------
// Storage records
// ---------------------------------------------------------------------------------------------
// The objects the pickle refers to: storages from the archive's records (each loaded once; zero-copy
// where aligned), and tensors rebuilt as views of them.
class ArchiveObjects final : public pickle::TorchObjects {
 public:
  ArchiveObjects(caffe2::serialize::PyTorchStreamReader& reader, std::string prefix, bool bigEndian)
      : reader_(reader), prefix_(std::move(prefix)), bigEndian_(bigEndian) {}

  std::shared_ptr<Storage> storage(const std::string& key, c10::ScalarType dtype, int64_t numel) override {
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      if (it->second->data.scalar_type() != dtype)
        fail("storage " + showName(key) + " is referenced with two different dtypes");
      return it->second;
    }
    if (numel < 0) fail("storage " + showName(key) + " has negative size");
    const std::string name = prefix_ + "data/" + key;
    if (!reader_.hasRecord(name)) fail("missing storage record " + showName(name));

    auto record = reader_.getRecord(name);
    auto dataPtr = std::make_shared<at::DataPtr>(std::move(std::get<0>(record)));
    const size_t nbytes = std::get<1>(record);
    const size_t elem = c10::elementSize(dtype);
    const uint64_t want = static_cast<uint64_t>(numel);
    if (want > nbytes / elem) {
      fail("storage record " + showName(name) + " is truncated: expected " + std::to_string(numel) + " x " +
           std::to_string(elem) + " bytes, found " + std::to_string(nbytes));
    }

    auto storage = std::make_shared<Storage>();
    const auto opts = torch::TensorOptions().dtype(dtype).device(torch::kCPU);
    auto* bytes = static_cast<uint8_t*>(dataPtr->get());
    if (numel == 0 || bytes == nullptr) {
      storage->data = torch::empty({numel}, opts);
    } else {
      if (bigEndian_ && elem > 1) byteSwap(bytes, static_cast<size_t>(numel), dtype);
      if (dtype == c10::ScalarType::Bool) {
        for (int64_t k = 0; k < numel; ++k) bytes[k] = bytes[k] != 0;
      }
      if (reinterpret_cast<uintptr_t>(bytes) % elem == 0) {
        // Zero-copy: the tensor keeps the record buffer alive.
        storage->data = torch::from_blob(bytes, {numel}, [dataPtr](void*) {}, opts);
      } else {
        storage->data = torch::empty({numel}, opts);
        std::memcpy(storage->data.data_ptr(), bytes, static_cast<size_t>(numel) * elem);
      }
    }
    cache_.emplace(key, storage);
    return storage;
  }

  torch::Tensor tensor(const std::vector<Value>& args) override { return rebuildTensor(args); }

 private:
  static void byteSwap(uint8_t* p, size_t numel, c10::ScalarType dtype) {
    // Complex numbers are two independent reals.
    size_t unit = c10::elementSize(dtype);
    if (dtype == c10::ScalarType::ComplexFloat || dtype == c10::ScalarType::ComplexDouble) {
      unit /= 2;
      numel *= 2;
    }
    for (size_t k = 0; k < numel; ++k) std::reverse(p + k * unit, p + (k + 1) * unit);
  }

  caffe2::serialize::PyTorchStreamReader& reader_;
  std::string prefix_;
  bool bigEndian_;
  std::unordered_map<std::string, std::shared_ptr<Storage>> cache_;
};

// ---------------------------------------------------------------------------------------------
// Flattening
// ---------------------------------------------------------------------------------------------
struct FlattenState {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  std::unordered_set<const void*> emitted;  // storages already handed out
  size_t visits = 0;
};

void flatten(const Dict& d, const std::string& prefix, FlattenState& st) {
  for (const auto& [k, v] : d.items) {
    if (++st.visits > kMaxFlattenVisits) fail("dict structure too large to flatten");
    std::string name;
    if (!keyText(k, name)) continue;
    if (!prefix.empty()) name = prefix + "." + name;
    if (v.kind == Value::Kind::Tensor) {
      // The same tensor object may be pickled under several keys (tied weights): every returned
      // tensor gets memory of its own.
      const void* mem = v.tensor.numel() ? v.tensor.storage().data() : nullptr;
      const bool dup = mem && !st.emitted.insert(mem).second;
      st.out.emplace_back(std::move(name), dup ? v.tensor.clone() : v.tensor);
    } else if (v.kind == Value::Kind::Dict && v.dict) {
      flatten(*v.dict, name, st);  // depth is bounded by pickle::kMaxNesting
    }
  }
}

std::string readRecordText(caffe2::serialize::PyTorchStreamReader& reader, const std::string& name) {
  auto record = reader.getRecord(name);
  const auto* p = static_cast<const char*>(std::get<0>(record).get());
  return p ? std::string(p, std::get<1>(record)) : std::string();
}

std::vector<std::pair<std::string, torch::Tensor>> readImpl(const std::string& path) {
  {
    std::ifstream f(path, std::ios::binary);
    if (!f) fail("cannot open file");
    unsigned char magic[2] = {0, 0};
    f.read(reinterpret_cast<char*>(magic), 2);
    if (f.gcount() < 2 || magic[0] != 'P' || magic[1] != 'K') {
      if (f.gcount() >= 1 && magic[0] == 0x80) {
        fail("legacy (non-zip) torch.save format is not supported; re-save it with a current "
             "torch.save(obj, path) (PyTorch >= 1.6, default _use_new_zipfile_serialization=True)");
      }
      fail("not a zip archive (expected a torch.save file from PyTorch >= 1.6; files from older "
           "versions must be re-saved with a current torch.save)");
    }
  }

  caffe2::serialize::PyTorchStreamReader reader(path);
  const std::vector<std::string> records = reader.getAllRecords();

  // Locate "<archive>/data.pkl". Depending on the LibTorch version, record names are listed
  // with or without the archive directory; getRecord() wants them without.
  std::string pkl;
  for (const std::string& r : records) {
    if (r == "data.pkl") {
      pkl = r;
      break;
    }
    const size_t slash = r.rfind('/');
    if (slash != std::string::npos && r.compare(slash + 1, std::string::npos, "data.pkl") == 0 &&
        (pkl.empty() || r.size() < pkl.size()))
      pkl = r;
  }
  if (pkl.empty() || !reader.hasRecord(pkl)) {
    bool torchscript = false;
    for (const std::string& r : records)
      torchscript |= r.find("constants.pkl") != std::string::npos || r.find("code/") != std::string::npos;
    if (torchscript) fail("this is a TorchScript archive (torch.jit.save); load it with torch::jit::load");
    fail("no data.pkl record found; not a torch.save archive");
  }
  const std::string prefix = pkl.substr(0, pkl.size() - std::string("data.pkl").size());
  for (const std::string& r : records) {
    if (r.size() >= prefix.size() && r.compare(0, prefix.size(), prefix) == 0 &&
        (r.compare(prefix.size(), std::string::npos, "constants.pkl") == 0 ||
         r.compare(prefix.size(), 5, "code/") == 0))
      fail("this is a TorchScript archive (torch.jit.save); load it with torch::jit::load");
  }

  bool bigEndian = false;
  for (const std::string& name : {prefix + "byteorder", prefix + ".data/byteorder"}) {
    if (!reader.hasRecord(name)) continue;
    std::string order = readRecordText(reader, name);
    while (!order.empty() && (order.back() == '\n' || order.back() == '\r')) order.pop_back();
    if (order == "big") bigEndian = true;
    else if (order != "little") fail("unknown byteorder record " + showName(order));
    break;
  }

  auto record = reader.getRecord(pkl);
  const auto* bytes = static_cast<const uint8_t*>(std::get<0>(record).get());
  const size_t nbytes = bytes ? std::get<1>(record) : 0;

  ArchiveObjects objects(reader, prefix, bigEndian);
  Value root = pickle::unpickle(bytes, nbytes, pkl, objects);
  if (root.kind != Value::Kind::Dict || !root.dict) {
    fail(std::string("top-level object is a ") + kindName(root.kind) + ", expected a dict of tensors");
  }

  FlattenState st;
  flatten(*root.dict, "", st);
  return std::move(st.out);
}

}  // namespace

std::vector<std::pair<std::string, torch::Tensor>> readPthStateDict(const std::string& path) {
  const std::string where = "readPthStateDict('" + path + "'): ";
  try {
    return readImpl(path);
  } catch (const pickle::PthError& e) {
    throw std::runtime_error(where + e.what());
  } catch (const c10::Error& e) {
    throw std::runtime_error(where + "cannot read archive: " + e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    throw std::runtime_error(where + "out of memory (corrupt size field?)");
  } catch (const std::exception& e) {
    throw std::runtime_error(where + "cannot read archive: " + e.what());
  }
}

}  // namespace ichnet::io
