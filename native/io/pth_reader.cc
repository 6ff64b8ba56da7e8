// Reader for torch.save() zip archives (PyTorch >= 1.6) holding state dicts.
//
// Why a hand-written unpickler: LibTorch's own torch::pickle_load / torch::jit::Unpickler only
// understands the TorchScript subset of pickle. torch.save(model.state_dict()) pickles a
// `collections.OrderedDict`, which that unpickler turns into None ("Expected GenericDict but got
// None", seen with LibTorch 1.13). So this file implements a small, restricted, bounds-checked
// unpickler for exactly what torch.save emits for (nested) dicts of tensors: plain containers,
// scalars, strings, OrderedDict, the tensor/parameter rebuild functions and the legacy typed
// storage classes. Anything else (arbitrary globals, object construction) is rejected, so loading
// an untrusted file cannot execute code; corrupt input yields std::runtime_error, never a crash.
// Storage bytes come from the zip records `<archive>/data/<key>` via
// caffe2::serialize::PyTorchStreamReader.
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
#include <unordered_map>
#include <unordered_set>

namespace ichnet::io {
namespace {

// Errors raised while parsing; readPthStateDict prefixes them with the file name.
struct PthError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string& msg) { throw PthError(msg); }

// Quotes a name taken from the file for an error message: printable ASCII only, length-capped.
std::string showName(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out = "'";
  for (size_t k = 0; k < s.size() && k < 120; ++k) {
    const auto c = static_cast<unsigned char>(s[k]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += digits[c >> 4];
      out += digits[c & 0xf];
    }
  }
  if (s.size() > 120) out += "...";
  return out + "'";
}

constexpr int kMaxNesting = 256;          // container nesting depth accepted from the pickle
constexpr size_t kMaxFlattenVisits = 10'000'000;  // guards against exponential shared-subtree blowup
constexpr size_t kMaxDims = 64;

// ---------------------------------------------------------------------------------------------
// Unpickled values
// ---------------------------------------------------------------------------------------------
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

const char* kindName(Value::Kind k) {
  switch (k) {
    case Value::Kind::None: return "None";
    case Value::Kind::Bool: return "bool";
    case Value::Kind::Int: return "int";
    case Value::Kind::Float: return "float";
    case Value::Kind::Str: return "str";
    case Value::Kind::Tuple: return "tuple";
    case Value::Kind::List: return "list";
    case Value::Kind::Dict: return "dict";
    case Value::Kind::Global: return "global";
    case Value::Kind::Storage: return "storage";
    case Value::Kind::Tensor: return "tensor";
  }
  return "?";
}

int depthOf(const Value& v) {
  if (v.seq) return v.seq->depth;
  if (v.dict) return v.dict->depth;
  return 0;
}

// Records that `child` is now stored inside a container of depth `parentDepth`.
void adopt(int& parentDepth, const Value& child) {
  const int d = depthOf(child) + 1;
  if (d > kMaxNesting) fail("pickle nests containers deeper than " + std::to_string(kMaxNesting));
  parentDepth = std::max(parentDepth, d);
  if (child.seq) child.seq->nested = true;
  if (child.dict) child.dict->nested = true;
}

Value makeSeq(Value::Kind kind, std::vector<Value> items) {
  Value v;
  v.kind = kind;
  v.seq = std::make_shared<Seq>();
  for (const Value& it : items) adopt(v.seq->depth, it);
  v.seq->items = std::move(items);
  return v;
}

Value makeDict() {
  Value v;
  v.kind = Value::Kind::Dict;
  v.dict = std::make_shared<Dict>();
  return v;
}

// Text of a dict key, for de-duplication and for flattened names; false if the key type is not
// one we can name (such entries are kept in the dict but skipped when flattening).
bool keyText(const Value& k, std::string& out) {
  switch (k.kind) {
    case Value::Kind::Str: out = k.s; return true;
    case Value::Kind::Int: out = std::to_string(k.i); return true;
    default: return false;
  }
}

void dictSet(Dict& d, Value key, Value val) {
  if (key.dict.get() == &d || val.dict.get() == &d) fail("a dict that contains itself is not supported");
  adopt(d.depth, key);
  adopt(d.depth, val);
  std::string text;
  if (keyText(key, text)) {
    const std::string tagged = (key.kind == Value::Kind::Str ? "s:" : "i:") + text;
    auto it = d.index.find(tagged);
    if (it != d.index.end()) {
      d.items[it->second].second = std::move(val);
      return;
    }
    d.index.emplace(tagged, d.items.size());
  }
  d.items.emplace_back(std::move(key), std::move(val));
}

// ---------------------------------------------------------------------------------------------
// Storage records
// ---------------------------------------------------------------------------------------------
bool storageDtype(const std::string& global, c10::ScalarType& out) {
  static const std::pair<const char*, c10::ScalarType> kTable[] = {
      {"torch.FloatStorage", c10::ScalarType::Float},
      {"torch.DoubleStorage", c10::ScalarType::Double},
      {"torch.HalfStorage", c10::ScalarType::Half},
      {"torch.BFloat16Storage", c10::ScalarType::BFloat16},
      {"torch.LongStorage", c10::ScalarType::Long},
      {"torch.IntStorage", c10::ScalarType::Int},
      {"torch.ShortStorage", c10::ScalarType::Short},
      {"torch.CharStorage", c10::ScalarType::Char},
      {"torch.ByteStorage", c10::ScalarType::Byte},
      {"torch.BoolStorage", c10::ScalarType::Bool},
      {"torch.ComplexFloatStorage", c10::ScalarType::ComplexFloat},
      {"torch.ComplexDoubleStorage", c10::ScalarType::ComplexDouble},
  };
  for (const auto& [name, type] : kTable) {
    if (global == name) {
      out = type;
      return true;
    }
  }
  return false;
}

class StorageLoader {
 public:
  StorageLoader(caffe2::serialize::PyTorchStreamReader& reader, std::string prefix, bool bigEndian)
      : reader_(reader), prefix_(std::move(prefix)), bigEndian_(bigEndian) {}

  std::shared_ptr<Storage> load(const std::string& key, c10::ScalarType dtype, int64_t numel) {
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
// Unpickler
// ---------------------------------------------------------------------------------------------
const char* opcodeName(uint8_t op) {
  switch (op) {
    case '(': return "MARK"; case '.': return "STOP"; case '0': return "POP"; case '1': return "POP_MARK";
    case '2': return "DUP"; case 'F': return "FLOAT"; case 'I': return "INT"; case 'J': return "BININT";
    case 'K': return "BININT1"; case 'L': return "LONG"; case 'M': return "BININT2"; case 'N': return "NONE";
    case 'P': return "PERSID"; case 'Q': return "BINPERSID"; case 'R': return "REDUCE"; case 'S': return "STRING";
    case 'T': return "BINSTRING"; case 'U': return "SHORT_BINSTRING"; case 'V': return "UNICODE";
    case 'X': return "BINUNICODE"; case 'a': return "APPEND"; case 'b': return "BUILD"; case 'c': return "GLOBAL";
    case 'd': return "DICT"; case '}': return "EMPTY_DICT"; case 'e': return "APPENDS"; case 'g': return "GET";
    case 'h': return "BINGET"; case 'i': return "INST"; case 'j': return "LONG_BINGET"; case 'l': return "LIST";
    case ']': return "EMPTY_LIST"; case 'o': return "OBJ"; case 'p': return "PUT"; case 'q': return "BINPUT";
    case 'r': return "LONG_BINPUT"; case 's': return "SETITEM"; case 't': return "TUPLE"; case ')': return "EMPTY_TUPLE";
    case 'u': return "SETITEMS"; case 'G': return "BINFLOAT"; case 0x80: return "PROTO"; case 0x81: return "NEWOBJ";
    case 0x82: return "EXT1"; case 0x83: return "EXT2"; case 0x84: return "EXT4"; case 0x85: return "TUPLE1";
    case 0x86: return "TUPLE2"; case 0x87: return "TUPLE3"; case 0x88: return "NEWTRUE"; case 0x89: return "NEWFALSE";
    case 0x8a: return "LONG1"; case 0x8b: return "LONG4"; case 'B': return "BINBYTES"; case 'C': return "SHORT_BINBYTES";
    case 0x8c: return "SHORT_BINUNICODE"; case 0x8d: return "BINUNICODE8"; case 0x8e: return "BINBYTES8";
    case 0x8f: return "EMPTY_SET"; case 0x90: return "ADDITEMS"; case 0x91: return "FROZENSET";
    case 0x92: return "NEWOBJ_EX"; case 0x93: return "STACK_GLOBAL"; case 0x94: return "MEMOIZE";
    case 0x95: return "FRAME"; case 0x96: return "BYTEARRAY8"; case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return "unknown";
  }
}

std::string hex(unsigned v) {
  static const char* digits = "0123456789abcdef";
  std::string s = "0x";
  s += digits[(v >> 4) & 0xf];
  s += digits[v & 0xf];
  return s;
}

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, std::string recordName, StorageLoader& storages)
      : p_(data), size_(size), record_(std::move(recordName)), storages_(storages) {}

  Value run() {
    while (true) {
      opStart_ = pos_;
      const uint8_t op = u8();
      switch (op) {
        case 0x80: {  // PROTO
          const uint8_t proto = u8();
          if (proto > 5) error("unsupported pickle protocol " + std::to_string(proto));
          break;
        }
        case 0x95: skip(8); break;  // FRAME: length prefix only, data follows inline
        case '.': {  // STOP
          Value v = pop();
          return v;
        }
        case '(': marks_.push_back(stack_.size()); break;
        case '0': pop(); break;                       // POP
        case '1': popMark(); break;                   // POP_MARK
        case '2': push(top()); break;                 // DUP
        case 'N': push(Value{}); break;               // NONE
        case 0x88: push(boolean(true)); break;        // NEWTRUE
        case 0x89: push(boolean(false)); break;       // NEWFALSE
        case 'J': push(integer(static_cast<int32_t>(le(4)))); break;  // BININT
        case 'K': push(integer(u8())); break;                         // BININT1
        case 'M': push(integer(static_cast<int64_t>(le(2)))); break;  // BININT2
        case 0x8a: push(integer(longN(u8()))); break;                 // LONG1
        case 0x8b: push(integer(longN(le(4)))); break;                // LONG4
        case 'G': {  // BINFLOAT, big-endian IEEE 754 double
          need(8);
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | p_[pos_ + k];
          pos_ += 8;
          Value v;
          v.kind = Value::Kind::Float;
          std::memcpy(&v.f, &bits, sizeof bits);
          push(std::move(v));
          break;
        }
        case 'X': push(str(le(4))); break;     // BINUNICODE
        case 0x8c: push(str(u8())); break;     // SHORT_BINUNICODE
        case 0x8d: push(str(le(8))); break;    // BINUNICODE8
        case 'c': {                            // GLOBAL "module\nname\n"
          std::string module = line();
          std::string name = line();
          push(global(module, name));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          Value name = pop();
          Value module = pop();
          if (module.kind != Value::Kind::Str || name.kind != Value::Kind::Str)
            error("STACK_GLOBAL expects two strings");
          push(global(module.s, name.s));
          break;
        }
        case ')': push(makeSeq(Value::Kind::Tuple, {})); break;  // EMPTY_TUPLE
        case 't': push(makeSeq(Value::Kind::Tuple, popMark())); break;
        case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
          const size_t n = op - 0x84;
          if (stack_.size() < base() + n) error("stack underflow");
          std::vector<Value> items(std::make_move_iterator(stack_.end() - n), std::make_move_iterator(stack_.end()));
          stack_.resize(stack_.size() - n);
          push(makeSeq(Value::Kind::Tuple, std::move(items)));
          break;
        }
        case ']': push(makeSeq(Value::Kind::List, {})); break;  // EMPTY_LIST
        case 'l': push(makeSeq(Value::Kind::List, popMark())); break;  // LIST
        case 'a': {  // APPEND
          Value v = pop();
          append(top(), std::move(v));
          break;
        }
        case 'e': {  // APPENDS
          std::vector<Value> items = popMark();
          Value& list = top();
          for (Value& v : items) append(list, std::move(v));
          break;
        }
        case '}': push(makeDict()); break;  // EMPTY_DICT
        case 'd': {  // DICT
          std::vector<Value> items = popMark();
          if (items.size() % 2) error("DICT with an odd number of items");
          Value d = makeDict();
          for (size_t k = 0; k < items.size(); k += 2) dictSet(*d.dict, std::move(items[k]), std::move(items[k + 1]));
          push(std::move(d));
          break;
        }
        case 's': {  // SETITEM
          Value v = pop();
          Value k = pop();
          dictSet(mutableDict(top()), std::move(k), std::move(v));
          break;
        }
        case 'u': {  // SETITEMS
          std::vector<Value> items = popMark();
          if (items.size() % 2) error("SETITEMS with an odd number of items");
          Dict& d = mutableDict(top());
          for (size_t k = 0; k < items.size(); k += 2) dictSet(d, std::move(items[k]), std::move(items[k + 1]));
          break;
        }
        case 'q': memoPut(u8()); break;                               // BINPUT
        case 'r': memoPut(static_cast<uint32_t>(le(4))); break;       // LONG_BINPUT
        case 0x94: memoPut(static_cast<uint32_t>(memo_.size())); break;  // MEMOIZE
        case 'h': memoGet(u8()); break;                               // BINGET
        case 'j': memoGet(static_cast<uint32_t>(le(4))); break;       // LONG_BINGET
        case 'Q': {  // BINPERSID
          Value pid = pop();
          push(persistentLoad(pid));
          break;
        }
        case 'R': {  // REDUCE
          Value args = pop();
          Value fn = pop();
          push(reduce(fn, args));
          break;
        }
        case 'b': {  // BUILD: only OrderedDict's `_metadata` (and similar) state, ignored
          pop();
          const Value& obj = top();
          if (obj.kind != Value::Kind::Dict && obj.kind != Value::Kind::Tensor)
            error(std::string("BUILD on unsupported object of type ") + kindName(obj.kind));
          break;
        }
        default:
          error(std::string("unsupported pickle opcode ") + opcodeName(op) + " (" + hex(op) + ")");
      }
    }
  }

 private:
  [[noreturn]] void error(const std::string& msg) const {
    fail(msg + " at offset " + std::to_string(opStart_) + " of record " + showName(record_));
  }

  // --- byte access -------------------------------------------------------------------------
  void need(uint64_t n) const {
    if (n > size_ - pos_) error("truncated pickle data (needs " + std::to_string(n) + " more bytes)");
  }
  void skip(uint64_t n) {
    need(n);
    pos_ += n;
  }
  uint8_t u8() {
    need(1);
    return p_[pos_++];
  }
  uint64_t le(int n) {
    need(n);
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | p_[pos_ + k];
    pos_ += n;
    return v;
  }
  int64_t longN(uint64_t n) {  // little-endian two's complement of n bytes
    if (n > 8) error("integer literal of " + std::to_string(n) + " bytes does not fit in int64");
    if (n == 0) return 0;
    uint64_t v = le(static_cast<int>(n));
    if (n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign-extend
    return static_cast<int64_t>(v);
  }
  std::string line() {
    const size_t start = pos_;
    while (true) {
      need(1);
      if (p_[pos_++] == '\n') break;
    }
    return std::string(reinterpret_cast<const char*>(p_ + start), pos_ - 1 - start);
  }

  // --- values ------------------------------------------------------------------------------
  static Value boolean(bool b) {
    Value v;
    v.kind = Value::Kind::Bool;
    v.i = b;
    return v;
  }
  static Value integer(int64_t i) {
    Value v;
    v.kind = Value::Kind::Int;
    v.i = i;
    return v;
  }
  Value str(uint64_t n) {
    need(n);
    Value v;
    v.kind = Value::Kind::Str;
    v.s.assign(reinterpret_cast<const char*>(p_ + pos_), n);
    pos_ += n;
    return v;
  }
  Value global(const std::string& module, const std::string& name) {
    const std::string full = module + "." + name;
    c10::ScalarType unused;
    if (full != "collections.OrderedDict" && full != "torch._utils._rebuild_tensor_v2" &&
        full != "torch._utils._rebuild_parameter" && !storageDtype(full, unused)) {
      error("unsupported global " + showName(full));
    }
    Value v;
    v.kind = Value::Kind::Global;
    v.s = full;
    return v;
  }

  // --- stack -------------------------------------------------------------------------------
  size_t base() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(Value v) { stack_.push_back(std::move(v)); }
  Value pop() {
    if (stack_.size() <= base()) error("pickle stack underflow");
    Value v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  Value& top() {
    if (stack_.size() <= base()) error("pickle stack underflow");
    return stack_.back();
  }
  std::vector<Value> popMark() {
    if (marks_.empty()) error("pickle MARK missing");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Value> items(std::make_move_iterator(stack_.begin() + m), std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }
  void memoPut(uint32_t idx) {
    if (memo_.size() >= (1u << 24) && !memo_.count(idx)) error("pickle memo too large");
    memo_[idx] = top();
  }
  void memoGet(uint32_t idx) {
    auto it = memo_.find(idx);
    if (it == memo_.end()) error("pickle memo key " + std::to_string(idx) + " not found");
    push(it->second);
  }

  // Containers may only be filled before they are stored elsewhere; this keeps the object graph
  // acyclic and the tracked nesting depth exact (torch.save never needs more).
  void append(Value& list, Value v) {
    if (list.kind != Value::Kind::List || !list.seq) error(std::string("APPEND to a ") + kindName(list.kind));
    if (list.seq->nested || v.seq == list.seq) error("recursive or shared list mutation is not supported");
    adopt(list.seq->depth, v);
    list.seq->items.push_back(std::move(v));
  }
  Dict& mutableDict(Value& d) {
    if (d.kind != Value::Kind::Dict || !d.dict) error(std::string("SETITEM on a ") + kindName(d.kind));
    if (d.dict->nested) error("recursive or shared dict mutation is not supported");
    return *d.dict;
  }

  // --- torch specifics ---------------------------------------------------------------------
  Value persistentLoad(const Value& pid) {
    // ('storage', storage_type, key, location, numel)
    if (pid.kind != Value::Kind::Tuple || !pid.seq || pid.seq->items.size() < 5)
      error("persistent id is not a ('storage', type, key, location, numel) tuple");
    const auto& t = pid.seq->items;
    if (t[0].kind != Value::Kind::Str || t[0].s != "storage") error("unsupported persistent id kind");
    c10::ScalarType dtype;
    if (t[1].kind != Value::Kind::Global || !storageDtype(t[1].s, dtype))
      error("persistent id has an unsupported storage type");
    if (t[2].kind != Value::Kind::Str) error("persistent id key is not a string");
    if (t[4].kind != Value::Kind::Int) error("persistent id numel is not an int");
    // t[3] (location, e.g. "cuda:0") is ignored: everything is loaded on the CPU.
    if (t[2].s.empty() || t[2].s.find('/') != std::string::npos || t[2].s.find("..") != std::string::npos)
      error("persistent id has an invalid storage key");
    Value v;
    v.kind = Value::Kind::Storage;
    v.storage = storages_.load(t[2].s, dtype, t[4].i);
    return v;
  }

  Value reduce(const Value& fn, const Value& args) {
    if (fn.kind != Value::Kind::Global) error(std::string("REDUCE on a ") + kindName(fn.kind));
    if (args.kind != Value::Kind::Tuple || !args.seq) error("REDUCE arguments are not a tuple");
    const auto& a = args.seq->items;
    if (fn.s == "collections.OrderedDict") {
      if (!a.empty()) error("OrderedDict(...) with arguments is not supported");
      return makeDict();
    }
    if (fn.s == "torch._utils._rebuild_tensor_v2") {
      Value v;
      v.kind = Value::Kind::Tensor;
      v.tensor = rebuildTensor(a);
      return v;
    }
    if (fn.s == "torch._utils._rebuild_parameter") {
      if (a.empty() || a[0].kind != Value::Kind::Tensor) error("_rebuild_parameter expects a tensor");
      return a[0];
    }
    error("cannot call global " + showName(fn.s));
  }

  const uint8_t* p_;
  uint64_t size_;
  uint64_t pos_ = 0;
  uint64_t opStart_ = 0;
  std::string record_;
  StorageLoader& storages_;
  std::vector<Value> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, Value> memo_;
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
      flatten(*v.dict, name, st);  // depth is bounded by kMaxNesting
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

  StorageLoader storages(reader, prefix, bigEndian);
  Value root = Unpickler(bytes, nbytes, pkl, storages).run();
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
  } catch (const PthError& e) {
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
