#include "io/safetensors.h"

#include <cstring>
#include <fstream>
#include <stdexcept>

#include "io/file_writer.h"
#include "io/json.h"

namespace ichnet::io {

namespace {

struct DtypeName {
  const char* name;
  torch::ScalarType type;
};
constexpr DtypeName kDtypes[] = {
    {"F32", torch::kFloat32}, {"F64", torch::kFloat64}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16},
    {"I64", torch::kInt64},   {"I32", torch::kInt32},   {"I16", torch::kInt16},   {"I8", torch::kInt8},
    {"U8", torch::kUInt8},    {"BOOL", torch::kBool},
};

torch::ScalarType dtypeFromName(const std::string& name) {
  for (const auto& d : kDtypes) if (name == d.name) return d.type;
  throw std::runtime_error("unsupported dtype '" + name + "'");
}

const char* dtypeToName(torch::ScalarType type) {
  for (const auto& d : kDtypes) if (type == d.type) return d.name;
  throw std::runtime_error(std::string("cannot store dtype ") + c10::toString(type) + " in safetensors");
}

uint64_t readLe64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

NamedTensors readSafetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error(path + ": cannot open file (" + std::strerror(errno) + ")");
  const auto file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  const auto fail = [&](const std::string& what) -> std::runtime_error {
    return std::runtime_error(path + ": not a valid safetensors file: " + what);
  };
  unsigned char len_bytes[8];
  if (file_size < 8 || !in.read(reinterpret_cast<char*>(len_bytes), 8)) throw fail("shorter than 8 bytes");
  const uint64_t header_len = readLe64(len_bytes);
  if (header_len > file_size - 8) throw fail("header length " + std::to_string(header_len) + " exceeds the file size");
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  const uint64_t data_len = file_size - 8 - header_len;

  json::Value root;
  try {
    root = json::parse(header);
  } catch (const std::exception& e) {
    throw fail(std::string("header: ") + e.what());
  }
  if (!root.isObject()) throw fail("header is not a JSON object");

  struct Entry {
    std::string name;
    torch::ScalarType type;
    std::vector<int64_t> shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (const auto& [name, spec] : root.object()) {
    if (name == "__metadata__") continue;
    try {
      const auto& o = spec.object();
      Entry e{name, dtypeFromName(o.at("dtype").string()), {}, 0, 0};
      for (const auto& d : o.at("shape").array()) e.shape.push_back(d.integer());
      const auto& offsets = o.at("data_offsets").array();
      if (offsets.size() != 2) throw std::runtime_error("data_offsets must hold 2 numbers");
      e.begin = static_cast<uint64_t>(offsets[0].integer());
      e.end = static_cast<uint64_t>(offsets[1].integer());
      int64_t numel = 1;
      for (auto d : e.shape) {
        if (d < 0) throw std::runtime_error("negative dimension");
        numel *= d;
      }
      const uint64_t bytes = static_cast<uint64_t>(numel) * c10::elementSize(e.type);
      if (e.end < e.begin || e.end > data_len || e.end - e.begin != bytes) {
        throw std::runtime_error("data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                                 "] do not fit its shape or the file");
      }
      entries.push_back(std::move(e));
    } catch (const std::out_of_range&) {
      throw fail("tensor '" + name + "' lacks dtype, shape or data_offsets");
    } catch (const std::exception& ex) {
      throw fail("tensor '" + name + "': " + ex.what());
    }
  }
  // Stored order = data order, which is the order the writer chose (usually the model's).
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });

  const uint64_t data_start = 8 + header_len;
  NamedTensors out;
  out.reserve(entries.size());
  for (const auto& e : entries) {
    auto t = torch::empty(e.shape, torch::TensorOptions().dtype(e.type));
    in.seekg(static_cast<std::streamoff>(data_start + e.begin));
    if (!in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(e.end - e.begin))) {
      throw fail("tensor '" + e.name + "' is truncated");
    }
    out.emplace_back(e.name, std::move(t));
  }
  return out;
}

void writeSafetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<torch::Tensor> data;
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      header += (first ? "" : ",") + json::quote(k) + ":" + json::quote(v);
      first = false;
    }
    header += "},";
  }
  uint64_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto t = tensors[i].second.detach().to(torch::kCPU).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    header += (i ? "," : "") + json::quote(tensors[i].first) + ":{\"dtype\":\"" + dtypeToName(t.scalar_type()) +
              "\",\"shape\":[";
    for (int64_t d = 0; d < t.dim(); ++d) header += (d ? "," : "") + std::to_string(t.size(d));
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + bytes) + "]}";
    offset += bytes;
    data.push_back(t);
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');  // keep the data 8-byte aligned

  FileWriter out(path);
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>((header.size() >> (8 * i)) & 0xFF);
  out.write(len_bytes, 8);
  out.write(header.data(), header.size());
  for (const auto& t : data) out.write(t.data_ptr(), static_cast<size_t>(t.numel() * t.element_size()));
  out.commit();
}

}  // namespace ichnet::io
