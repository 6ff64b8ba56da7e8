#pragma once
// Values of the restricted unpickler (pickle.h): None, bool, int, float, str, tuple, list, dict,
// whitelisted globals, storages and tensors. Containers record their nesting depth (at most
// kMaxNesting) and whether they are already stored inside another container (then they may no
// longer be filled), which keeps the object graph acyclic. Also the error type shared by the
// pickle machine and the .pth reader.
#include <torch/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ichnet::io::pickle {

// Errors raised while reading a torch.save file (its pickle or its records); readPthStateDict
// prefixes them with the file name.
struct PthError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void fail(const std::string& msg) { throw PthError(msg); }

// Quotes a name taken from the file for an error message: printable ASCII only, length-capped.
std::string showName(const std::string& s);

constexpr int kMaxNesting = 256;  // container nesting depth accepted from the pickle

struct Value;

struct Seq {  // tuple or list
  std::vector<Value> items;
  int depth = 1;
  bool nested = false;  // already stored inside another container (mutation then rejected)
};

struct Dict {
  std::vector<std::pair<Value, Value>> items;  // insertion order
  std::unordered_map<std::string, size_t> index;  // hashable-key text -> position in items
  int depth = 1;
  bool nested = false;
};

struct Storage {
  torch::Tensor data;       // 1-D, dtype of the storage class
  bool handedOut = false;   // already returned as-is (without copy) as a tensor
};

struct Value {
  enum class Kind { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, Storage, Tensor };
  Kind kind = Kind::None;
  int64_t i = 0;   // Bool, Int
  double f = 0;    // Float
  std::string s;   // Str; Global as "module.name"
  std::shared_ptr<Seq> seq;
  std::shared_ptr<Dict> dict;
  std::shared_ptr<Storage> storage;
  torch::Tensor tensor;
};

const char* kindName(Value::Kind k);

// Records that `child` is now stored inside a container of depth `parentDepth`; fails beyond
// kMaxNesting.
void adopt(int& parentDepth, const Value& child);

// A tuple or list (`kind`) holding `items`.
Value makeSeq(Value::Kind kind, std::vector<Value> items);

// An empty dict.
Value makeDict();

// Text of a dict key, for de-duplication and for flattened names; false if the key type is not
// one we can name (such entries are kept in the dict but skipped when flattening).
bool keyText(const Value& k, std::string& out);

// d[key] = val. A str or int key already present keeps its position and takes the new value; a
// dict may not contain itself.
void dictSet(Dict& d, Value key, Value val);

}  // namespace ichnet::io::pickle
