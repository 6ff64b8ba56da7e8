#include "io/dicom_slice.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string_view>

namespace ichnet::io {

namespace {

constexpr uint32_t kUndefinedLength = 0xFFFFFFFF;
constexpr uint32_t kItem = 0xFFFEE000;
constexpr uint32_t kItemEnd = 0xFFFEE00D;
constexpr uint32_t kSequenceEnd = 0xFFFEE0DD;
constexpr uint32_t kPixelData = 0x7FE00010;
constexpr uint32_t kTransferSyntax = 0x00020010;
/// Sequences nested deeper than this are declined (real files nest a few levels).
constexpr int kMaxDepth = 32;

inline uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t u32(const uint8_t* p) { return static_cast<uint32_t>(u16(p)) | (static_cast<uint32_t>(u16(p + 2)) << 16); }
inline uint32_t tagAt(const uint8_t* p) { return (static_cast<uint32_t>(u16(p)) << 16) | u16(p + 2); }
inline bool isPrivate(uint32_t tag) { return ((tag >> 16) & 1) == 1; }

/// The VRs of PS3.5 that dicom-parser reads as written; others (OV, SV, UV and garbage) are declined.
bool knownVr(const uint8_t* p) {
  static constexpr const char* kVrs[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "OB", "OD", "OF",
                                         "OL", "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT"};
  for (const char* vr : kVrs) {
    if (p[0] == vr[0] && p[1] == vr[1]) return true;
  }
  return false;
}

/// VRs whose length is 4 bytes after 2 reserved ones, as dicom-parser has them.
bool longVr(const uint8_t* p) {
  static constexpr const char* kLong[] = {"OB", "OD", "OL", "OW", "SQ", "OF", "UC", "UR", "UT", "UN"};
  for (const char* vr : kLong) {
    if (p[0] == vr[0] && p[1] == vr[1]) return true;
  }
  return false;
}

struct Element {
  bool present = false;
  size_t offset = 0;
  uint32_t length = 0;
};

/// The top-level elements the fast path reads; the last occurrence wins, as in dicom-parser.
struct Facts {
  Element transfer_syntax, samples, photometric, frames, rows, columns, bits_allocated, bits_stored, pixel_representation,
      intercept, slope, pixel_data;

  Element* slot(uint32_t tag) {
    switch (tag) {
      case kTransferSyntax: return &transfer_syntax;
      case 0x00280002: return &samples;
      case 0x00280004: return &photometric;
      case 0x00280008: return &frames;
      case 0x00280010: return &rows;
      case 0x00280011: return &columns;
      case 0x00280100: return &bits_allocated;
      case 0x00280101: return &bits_stored;
      case 0x00280103: return &pixel_representation;
      case 0x00281052: return &intercept;
      case 0x00281053: return &slope;
      case kPixelData: return &pixel_data;
      default: return nullptr;
    }
  }
};

/// Walks the structure of a data set the way dicom-parser's parseDicom does, and says false for
/// anything it is not sure of.
class Walker {
 public:
  Walker(const uint8_t* data, size_t size, bool explicit_vr) : d_(data), size_(size), explicit_(explicit_vr) {}

  /// Elements from `pos` to `end` (exactly), or up to and including an item delimitation item when
  /// `until_item_end`. `facts`: record the top level's elements there.
  bool dataSet(size_t& pos, size_t end, bool until_item_end, int depth, Facts* facts) const {
    while (pos < end) {
      if (end - pos < 8) return false;
      const uint32_t tag = tagAt(d_ + pos);
      if (tag == kItemEnd) {
        // dicom-parser reads it as an element; a zero length is 8 bytes in both encodings.
        if (!until_item_end || u32(d_ + pos + 4) != 0) return false;
        pos += 8;
        return true;
      }
      if (!next(pos, end, facts, depth)) return false;
    }
    return !until_item_end && pos == end;
  }

  /// One element other than an item delimiter (at least 8 bytes before `end`), recorded in `facts`
  /// when given.
  bool next(size_t& pos, size_t end, Facts* facts, int depth = 0) const {
    const uint32_t tag = tagAt(d_ + pos);
    if (tag == kItem || tag == kItemEnd || tag == kSequenceEnd) return false;
    Element e;
    if (!element(pos, end, depth, tag, e)) return false;
    if (facts) {
      if (Element* slot = facts->slot(tag)) *slot = e;
    }
    return true;
  }

 private:
  bool element(size_t& pos, size_t end, int depth, uint32_t tag, Element& e) const {
    bool sequence = false;
    if (explicit_) {
      const uint8_t* vr = d_ + pos + 4;
      if (!knownVr(vr)) return false;
      if (longVr(vr)) {
        if (end - pos < 12) return false;
        e.length = u32(d_ + pos + 8);
        e.offset = pos + 12;
      } else {
        e.length = u16(d_ + pos + 6);
        e.offset = pos + 8;
      }
      sequence = vr[0] == 'S' && vr[1] == 'Q';
    } else {
      e.length = u32(d_ + pos + 4);
      e.offset = pos + 8;
      // dicom-parser has no dictionary: an element whose value starts with an item (or a sequence
      // delimiter) is parsed as a sequence, unless it is private and of defined length.
      const bool looks = e.offset + 4 <= size_ && (tagAt(d_ + e.offset) == kItem || tagAt(d_ + e.offset) == kSequenceEnd);
      sequence = looks && (!isPrivate(tag) || e.length == kUndefinedLength);
    }
    e.present = true;
    if (sequence) {
      if (tag == kPixelData) return false;
      return sequenceItems(pos, e, end, depth);
    }
    // Undefined length elsewhere is encapsulated Pixel Data or a value found by scanning: declined.
    if (e.length == kUndefinedLength || e.length % 2 != 0) return false;
    if (e.offset > end || e.length > end - e.offset) return false;
    pos = e.offset + e.length;
    return true;
  }

  bool sequenceItems(size_t& pos, const Element& e, size_t end, int depth) const {
    if (depth >= kMaxDepth) return false;
    pos = e.offset;
    if (e.length != kUndefinedLength) {
      if (e.offset > end || e.length > end - e.offset || e.length % 2 != 0) return false;
      const size_t stop = e.offset + e.length;
      while (pos < stop) {
        if (!item(pos, stop, depth)) return false;
      }
      return pos == stop;
    }
    for (;;) {
      if (end - pos < 8) return false;  // no sequence delimiter before the end
      if (tagAt(d_ + pos) == kSequenceEnd) {
        if (u32(d_ + pos + 4) != 0) return false;
        pos += 8;
        return true;
      }
      if (!item(pos, end, depth)) return false;
    }
  }

  bool item(size_t& pos, size_t end, int depth) const {
    if (end - pos < 8 || tagAt(d_ + pos) != kItem) return false;
    const uint32_t length = u32(d_ + pos + 4);
    pos += 8;
    if (length == kUndefinedLength) return dataSet(pos, end, true, depth + 1, nullptr);
    if (length > end - pos || length % 2 != 0) return false;
    return dataSet(pos, pos + length, false, depth + 1, nullptr);
  }

  const uint8_t* d_;
  size_t size_;
  bool explicit_;
};

/// A text value as dicom-parser's DataSet.string gives it: the bytes up to the first NUL, as
/// Latin-1, with JavaScript's trim() (of which only these are Latin-1 characters).
std::string_view text(const uint8_t* data, const Element& e) {
  auto view = std::string_view(reinterpret_cast<const char*>(data + e.offset), e.length);
  view = view.substr(0, view.find('\0'));
  const auto space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r') || static_cast<unsigned char>(c) == 0xA0; };
  while (!view.empty() && space(view.front())) view.remove_prefix(1);
  while (!view.empty() && space(view.back())) view.remove_suffix(1);
  return view;
}

/// A US value (absent or shorter than 2 bytes: `fallback`), as meta.ts's ushort.
std::optional<uint16_t> ushort(const uint8_t* data, const Element& e, std::optional<uint16_t> fallback) {
  if (!e.present || e.length < 2) return fallback;
  return u16(data + e.offset);
}

/// A single DS/IS value as meta.ts's requiredNumber reads it: absent or blank -> `fallback`; a
/// plain decimal number -> its value (correctly rounded, as JavaScript's Number()); anything else
/// (several values, hex, Infinity, garbage: JavaScript would reject or read some differently) ->
/// nullopt.
std::optional<double> decimal(const uint8_t* data, const Element& e, double fallback) {
  if (!e.present || e.length == 0) return fallback;
  const std::string_view raw = text(data, e);
  if (raw.empty()) {
    // Blank after trimming, and a single value (a backslash would make several).
    const auto whole = std::string_view(reinterpret_cast<const char*>(data + e.offset), e.length);
    return whole.substr(0, whole.find('\0')).find('\\') == std::string_view::npos ? std::optional<double>(fallback) : std::nullopt;
  }
  std::string_view s = raw;
  if (s.front() == '+') {
    s.remove_prefix(1);
    if (s.empty() || s.front() == '-') return std::nullopt;  // "+-1" is NaN to JavaScript
  }
  // Grammar: [+-]?(digits[.digits?] | .digits)([eE][+-]?digits)? (from_chars takes no '+')
  size_t i = s.empty() || s[0] != '-' ? 0 : 1;
  const auto digits = [&] {
    size_t from = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - from;
  };
  size_t mantissa = digits();
  if (i < s.size() && s[i] == '.') {
    ++i;
    mantissa += digits();
  }
  if (mantissa == 0) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  double value = 0;
  const auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (error != std::errc() || end != s.data() + s.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

bool integral(double v) { return std::isfinite(v) && v == std::floor(v); }

}  // namespace

std::optional<GreySlice> parseGreySlice(const uint8_t* data, size_t size) {
  if (size < 132 || std::memcmp(data + 128, "DICM", 4) != 0) return std::nullopt;
  // File meta information: explicit VR little endian, while the group is 0002 (as dicom-parser).
  Facts facts;
  size_t pos = 132;
  const Walker meta(data, size, true);
  while (pos < size) {
    if (size - pos < 8) return std::nullopt;
    const uint32_t tag = tagAt(data + pos);
    if (tag > 0x0002FFFF) break;
    if (tag < 0x00020000) return std::nullopt;
    if (!meta.next(pos, size, &facts)) return std::nullopt;
  }
  if (!facts.transfer_syntax.present) return std::nullopt;
  const auto uid_raw = std::string_view(reinterpret_cast<const char*>(data + facts.transfer_syntax.offset), facts.transfer_syntax.length);
  const std::string_view uid = text(data, facts.transfer_syntax);
  // dicom-parser chooses the encoding from the untrimmed value: only a value padded with NULs
  // reads the same both ways.
  if (uid_raw.substr(0, uid_raw.find('\0')) != uid) return std::nullopt;
  bool explicit_vr;
  if (uid == "1.2.840.10008.1.2") {
    explicit_vr = false;
  } else if (uid == "1.2.840.10008.1.2.1") {
    explicit_vr = true;
  } else {
    return std::nullopt;
  }
  if (pos >= size) return std::nullopt;
  // dicom-parser reads the first element after the file meta as explicit VR before it sees the
  // group; in an implicit data set, length bytes that spell a long VR would make it read on.
  if (!explicit_vr && (size - pos < 8 || longVr(data + pos + 4))) return std::nullopt;
  if (!Walker(data, size, explicit_vr).dataSet(pos, size, false, 0, &facts)) return std::nullopt;

  // meta.ts's readMeta, for the values the pixels depend on.
  const auto rows = ushort(data, facts.rows, std::nullopt);
  const auto columns = ushort(data, facts.columns, std::nullopt);
  const auto bits_allocated = ushort(data, facts.bits_allocated, std::nullopt);
  if (!rows || !columns || !bits_allocated || *rows == 0 || *columns == 0) return std::nullopt;
  if (*bits_allocated != 8 && *bits_allocated != 16) return std::nullopt;
  const uint16_t bits_stored = *ushort(data, facts.bits_stored, *bits_allocated);
  if (bits_stored < 1 || bits_stored > *bits_allocated) return std::nullopt;
  const uint16_t representation = *ushort(data, facts.pixel_representation, 0);
  if (representation > 1) return std::nullopt;
  if (*ushort(data, facts.samples, 1) != 1) return std::nullopt;
  if (facts.photometric.present) {
    const std::string_view photometric = text(data, facts.photometric);
    if (!photometric.empty() && photometric != "MONOCHROME1" && photometric != "MONOCHROME2") return std::nullopt;
  }
  const auto frames = decimal(data, facts.frames, 1);
  if (!frames || (*frames >= 1 && std::trunc(*frames) != 1)) return std::nullopt;
  const auto slope = decimal(data, facts.slope, 1);
  const auto intercept = decimal(data, facts.intercept, 0);
  if (!slope || !intercept || !integral(*slope) || *slope == 0 || !integral(*intercept)) return std::nullopt;

  GreySlice slice;
  slice.rows = *rows;
  slice.columns = *columns;
  slice.bits_stored = bits_stored;
  slice.type = *bits_allocated == 8 ? (representation == 1 ? SampleType::Int8 : SampleType::Uint8)
                                    : (representation == 1 ? SampleType::Int16 : SampleType::Uint16);
  slice.slope = *slope;
  slice.intercept = *intercept;
  const Element& pixels = facts.pixel_data;
  const size_t frame_bytes = static_cast<size_t>(*rows) * *columns * (*bits_allocated / 8);
  if (!pixels.present || pixels.length < frame_bytes || pixels.offset % (*bits_allocated / 8) != 0) return std::nullopt;
  slice.pixel_offset = pixels.offset;
  return slice;
}

HuRescale huRescaleOf(const GreySlice& slice, bool rsna_fix) {
  const bool is_signed = slice.type == SampleType::Int8 || slice.type == SampleType::Int16;
  HuRescale r;
  r.slope = slice.slope;
  r.intercept = slice.intercept;
  r.keep_bits = slice.bits_stored;
  r.sign_extend = is_signed;
  r.rsna_fix = rsna_fix && slice.bits_stored == 12 && !is_signed && std::trunc(slice.intercept) > -100;
  return r;
}

std::optional<size_t> readWholeFile(const std::string& path, std::vector<uint8_t>& buffer) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  std::optional<size_t> result;
  if (::fstat(fd, &st) == 0 && st.st_size >= 0) {
    const auto size = static_cast<size_t>(st.st_size);
    if (buffer.size() < size) buffer.resize(std::max(size, 2 * buffer.size()));
    size_t done = 0;
    bool failed = false;
    while (done < size) {
      const ssize_t n = ::read(fd, buffer.data() + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        failed = true;
        break;
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    if (!failed) result = done;
  }
  ::close(fd);
  return result;
}

}  // namespace ichnet::io
