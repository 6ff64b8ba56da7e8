#include "io/pickle.h"

#include <cstring>
#include <iterator>
#include <unordered_map>

namespace ichnet::io::pickle {
namespace {

// The storage classes accepted as globals and in persistent ids, and their dtypes.
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

// A pickle opcode's name, for error messages.
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

// A byte as 0xNN.
std::string hex(unsigned v) {
  static const char* digits = "0123456789abcdef";
  std::string s = "0x";
  s += digits[(v >> 4) & 0xf];
  s += digits[v & 0xf];
  return s;
}

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, std::string recordName, TorchObjects& objects)
      : p_(data), size_(size), record_(std::move(recordName)), objects_(objects) {}

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
    v.storage = objects_.storage(t[2].s, dtype, t[4].i);
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
      v.tensor = objects_.tensor(a);
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
  TorchObjects& objects_;
  std::vector<Value> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, Value> memo_;
};

}  // namespace

Value unpickle(const uint8_t* data, size_t size, const std::string& recordName, TorchObjects& objects) {
  return Unpickler(data, size, recordName, objects).run();
}

}  // namespace ichnet::io::pickle
