#include "io/pickle_value.h"

#include <algorithm>

namespace ichnet::io::pickle {
namespace {

int depthOf(const Value& v) {
  if (v.seq) return v.seq->depth;
  if (v.dict) return v.dict->depth;
  return 0;
}

}  // namespace

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

}  // namespace ichnet::io::pickle
