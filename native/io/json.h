#pragma once
// A minimal JSON reader/writer for safetensors headers and checkpoint metadata. LibTorch ships no
// JSON library and the headers we read are small and flat, so a ~150-line parser beats a new build
// dependency for every user.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace ichnet::io::json {

struct Value;
using Object = std::map<std::string, Value>;
using Array = std::vector<Value>;

struct Value {
  std::variant<std::nullptr_t, bool, double, std::string, std::shared_ptr<Array>, std::shared_ptr<Object>> data;

  bool isObject() const { return std::holds_alternative<std::shared_ptr<Object>>(data); }
  bool isArray() const { return std::holds_alternative<std::shared_ptr<Array>>(data); }
  bool isString() const { return std::holds_alternative<std::string>(data); }
  bool isNumber() const { return std::holds_alternative<double>(data); }
  const Object& object() const;  // throws std::runtime_error when the type differs
  const Array& array() const;
  const std::string& string() const;
  double number() const;
  int64_t integer() const;  // a number that must be a whole number
};

/// Parses a complete JSON document; throws std::runtime_error with the byte offset on errors.
Value parse(const std::string& text);

/// Quotes and escapes a string as a JSON string literal.
std::string quote(const std::string& s);

}  // namespace ichnet::io::json
