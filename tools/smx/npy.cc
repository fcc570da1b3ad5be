#include "npy.h"

#include <bit>
#include <cctype>
#include <map>
#include <optional>
#include <variant>
#include <vector>

#include "cli_error.h"
#include "file_io.h"

namespace smx_cli {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the .npy reader hands little-endian data to smx without swapping bytes");

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr std::size_t kPreludeSize = 10;  // magic, 2 version bytes, 2-byte header length (v1)

// Header text as one printable line for a message: control and non-ASCII bytes become '?', the
// padding goes, and a long header is cut.
std::string Printable(std::string_view text) {
  constexpr std::size_t kMaxShown = 100;
  text = text.substr(0, text.find_last_not_of(" \n") + 1);
  std::string shown;
  for (char c : text.substr(0, kMaxShown)) shown += c >= ' ' && c <= '~' ? c : '?';
  shown.erase(shown.find_last_not_of(" ?") + 1);
  return text.size() > kMaxShown ? shown + "..." : shown;
}

// The values an .npy header dict holds: strings, booleans and tuples of integers.
using HeaderValue = std::variant<std::string, bool, std::vector<std::int64_t>>;

// Parses the Python dict literal of a header, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& name) : text_(text), name_(name) {}

  std::map<std::string, HeaderValue> ParseDict() {
    std::map<std::string, HeaderValue> dict;
    Expect('{');
    while (!Consume('}')) {
      std::string key = ParseString();
      Expect(':');
      dict[key] = ParseValue();
      if (!Consume(',')) {
        Expect('}');
        break;
      }
    }
    return dict;
  }

 private:
  CliError Malformed(const std::string& what) const {
    return RuntimeError("'" + name_ + "' has a malformed .npy header (" + what + " at character " +
                        std::to_string(pos_ + 1) + "): " + Printable(text_));
  }

  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void Expect(char c) {
    if (!Consume(c)) throw Malformed(std::string("expected '") + c + "'");
  }
  bool ConsumeWord(std::string_view word) {
    SkipSpace();
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  std::string ParseString() {
    SkipSpace();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
      throw Malformed("expected a quoted string");
    }
    const char quote = text_[pos_++];
    const std::size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) throw Malformed("unterminated string");
    std::string value(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return value;
  }

  std::vector<std::int64_t> ParseTuple() {
    std::vector<std::int64_t> values;
    while (!Consume(')')) {
      SkipSpace();
      std::int64_t value = 0;
      const std::size_t start = pos_;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        if (__builtin_mul_overflow(value, 10, &value) ||
            __builtin_add_overflow(value, text_[pos_] - '0', &value)) {
          throw Malformed("a shape size is too large");
        }
        ++pos_;
      }
      if (pos_ == start) throw Malformed("expected a non-negative integer in the shape");
      Consume('L');  // written by Python 2
      values.push_back(value);
      if (!Consume(',')) {
        Expect(')');
        break;
      }
    }
    return values;
  }

  HeaderValue ParseValue() {
    SkipSpace();
    if (Consume('(')) return ParseTuple();
    if (ConsumeWord("True")) return true;
    if (ConsumeWord("False")) return false;
    if (pos_ < text_.size() && text_[pos_] == '[') {
      throw RuntimeError("'" + name_ + "' holds a structured dtype; smx reads plain float arrays");
    }
    return ParseString();
  }

  std::string_view text_;
  const std::string& name_;
  std::size_t pos_ = 0;
};

std::uint32_t LittleEndian(std::string_view bytes) {
  std::uint32_t value = 0;
  for (std::size_t i = bytes.size(); i-- > 0;) {
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return value;
}

// The header text and the offset where the data starts.
std::string_view ReadHeaderText(std::string_view file, const std::string& name,
                                std::size_t* data_offset) {
  if (file.size() < kMagic.size() || file.substr(0, kMagic.size()) != kMagic) {
    throw RuntimeError("'" + name + "' is not a .npy file (bad magic bytes)");
  }
  if (file.size() < kPreludeSize) throw RuntimeError("'" + name + "' is truncated (no header)");
  const int major = static_cast<unsigned char>(file[6]);
  const int minor = static_cast<unsigned char>(file[7]);
  std::size_t length_bytes;
  if (major == 1 && minor == 0) {
    length_bytes = 2;
  } else if ((major == 2 || major == 3) && minor == 0) {
    length_bytes = 4;
  } else {
    throw RuntimeError("'" + name + "' has .npy version " + std::to_string(major) + "." +
                       std::to_string(minor) + "; smx reads versions 1.0, 2.0 and 3.0");
  }
  if (file.size() < 8 + length_bytes) throw RuntimeError("'" + name + "' is truncated (no header)");
  const std::size_t header_length = LittleEndian(file.substr(8, length_bytes));
  const std::size_t header_start = 8 + length_bytes;
  if (header_length > file.size() - header_start) {
    throw RuntimeError("'" + name + "' is truncated: its header says " +
                       std::to_string(header_length) + " bytes, but the file ends " +
                       std::to_string(file.size() - header_start) + " bytes after the prelude");
  }
  *data_offset = header_start + header_length;
  return file.substr(header_start, header_length);
}

template <typename T>
const T& Field(const std::map<std::string, HeaderValue>& dict, const std::string& key,
               const std::string& name) {
  auto it = dict.find(key);
  if (it == dict.end()) throw RuntimeError("'" + name + "' has no '" + key + "' in its header");
  if (!std::holds_alternative<T>(it->second)) {
    throw RuntimeError("'" + name + "' has a malformed '" + key + "' in its header");
  }
  return std::get<T>(it->second);
}

smx::DType DTypeFromDescr(const std::string& descr, const std::string& name) {
  if (descr == "<f2") return smx::DType::kF16;
  if (descr == "<f4") return smx::DType::kF32;
  if (descr == "<f8") return smx::DType::kF64;
  const std::string supported = "smx reads '<f2' (f16), '<f4' (f32) and '<f8' (f64)";
  const std::string shown = Printable(descr);
  if (descr.size() == 3 && descr[0] == '>' && descr[1] == 'f') {
    throw RuntimeError("'" + name + "' is big-endian (dtype '" + shown + "'); " + supported);
  }
  throw RuntimeError("'" + name + "' has unsupported dtype '" + shown + "'; " + supported);
}

// The parts of a .npy file every reader needs, checked: the dtype string, the shape and the data.
struct NpyParts {
  std::string descr;
  std::vector<std::int64_t> shape;
  std::string_view data;
};

NpyParts ParseParts(std::string_view file, const std::string& name) {
  std::size_t data_offset = 0;
  const std::string_view header = ReadHeaderText(file, name, &data_offset);
  const auto dict = HeaderParser(header, name).ParseDict();
  NpyParts parts;
  parts.descr = Field<std::string>(dict, "descr", name);
  if (Field<bool>(dict, "fortran_order", name)) {
    throw RuntimeError("'" + name +
                       "' is in Fortran order; smx reads C-order arrays "
                       "(save it with numpy.ascontiguousarray)");
  }
  parts.shape = Field<std::vector<std::int64_t>>(dict, "shape", name);
  if (static_cast<int>(parts.shape.size()) > smx::kMaxRank) {
    throw RuntimeError("'" + name + "' has rank " + std::to_string(parts.shape.size()) +
                       "; smx handles up to " + std::to_string(smx::kMaxRank) + " axes");
  }
  parts.data = file.substr(data_offset);
  return parts;
}

// Checks that the data holds exactly the shape's elements of `element_size` bytes.
void CheckDataSize(const NpyParts& parts, std::size_t element_size, const std::string& type_name,
                   const std::string& name) {
  std::uint64_t expected_bytes = element_size;
  for (std::int64_t size : parts.shape) {
    if (__builtin_mul_overflow(expected_bytes, static_cast<std::uint64_t>(size), &expected_bytes)) {
      expected_bytes = UINT64_MAX;
      break;
    }
  }
  if (expected_bytes != parts.data.size()) {
    throw RuntimeError("'" + name + "' does not match its header: shape " +
                       FormatShape(parts.shape) + " of " + type_name + " needs " +
                       std::to_string(expected_bytes) + " bytes of data, the file has " +
                       std::to_string(parts.data.size()));
  }
}

// An integer dtype: '<i8', '<i4', '<i2', '|i1', '<u8', ... ('<' or '|' for one byte); size 0 if
// `descr` is not one.
struct IntegerType {
  std::size_t size = 0;
  bool is_signed = true;
};

IntegerType IntegerTypeOf(const std::string& descr) {
  if (descr.size() != 3 || (descr[1] != 'i' && descr[1] != 'u')) return {};
  const std::size_t size = descr[2] == '1'   ? 1
                           : descr[2] == '2' ? 2
                           : descr[2] == '4' ? 4
                           : descr[2] == '8' ? 8
                                             : 0;
  if (size == 0 || !(descr[0] == '<' || (descr[0] == '|' && size == 1))) return {};
  return {size, descr[1] == 'i'};
}

std::string IntegerTypeName(IntegerType type) {
  return (type.is_signed ? "int" : "uint") + std::to_string(8 * type.size);
}

}  // namespace

Array ParseNpy(std::string_view file, const std::string& name) {
  const NpyParts parts = ParseParts(file, name);
  Array array;
  array.dtype = DTypeFromDescr(parts.descr, name);
  array.shape = parts.shape;
  CheckDataSize(parts, smx::dtype_size(array.dtype), smx::dtype_name(array.dtype), name);
  const auto* data = reinterpret_cast<const std::byte*>(parts.data.data());
  array.bytes.assign(data, data + parts.data.size());
  return array;
}

bool NpyHoldsIntegers(std::string_view file, const std::string& name) {
  return IntegerTypeOf(ParseParts(file, name).descr).size != 0;
}

IndexArray ParseNpyIndices(std::string_view file, const std::string& name) {
  const NpyParts parts = ParseParts(file, name);
  const IntegerType type = IntegerTypeOf(parts.descr);
  if (type.size == 0) {
    throw RuntimeError("'" + name + "' has dtype '" + Printable(parts.descr) +
                       "', not integers; class indices are read from '<i8', '<i4', '<i2', "
                       "'|i1' or unsigned ('<u8' ... '|u1') arrays");
  }
  CheckDataSize(parts, type.size, IntegerTypeName(type), name);
  IndexArray indices;
  indices.shape = parts.shape;
  indices.values.resize(parts.data.size() / type.size);
  for (std::size_t i = 0; i < indices.values.size(); ++i) {
    std::uint64_t bits = 0;
    for (std::size_t b = type.size; b-- > 0;) {
      bits = (bits << 8) | static_cast<unsigned char>(parts.data[i * type.size + b]);
    }
    const auto shift = static_cast<unsigned>(64 - 8 * type.size);
    if (type.is_signed) {  // sign-extend: shift the top bit up, then arithmetically back down
      indices.values[i] = static_cast<std::int64_t>(bits << shift) >> shift;
    } else if (bits > static_cast<std::uint64_t>(INT64_MAX)) {
      throw RuntimeError("'" + name + "' holds " + std::to_string(bits) + " at index " +
                         std::to_string(i) + ", which does not fit int64");
    } else {
      indices.values[i] = static_cast<std::int64_t>(bits);
    }
  }
  return indices;
}

bool NpyHoldsBooleans(std::string_view file, const std::string& name) {
  return ParseParts(file, name).descr == "|b1";
}

BoolArray ParseNpyBooleans(std::string_view file, const std::string& name) {
  const NpyParts parts = ParseParts(file, name);
  if (parts.descr != "|b1") {
    throw RuntimeError("'" + name + "' has dtype '" + Printable(parts.descr) +
                       "', not booleans ('|b1')");
  }
  CheckDataSize(parts, 1, "bool", name);
  BoolArray mask;
  mask.shape = parts.shape;
  mask.values.reserve(parts.data.size());
  for (const char c : parts.data) mask.values.push_back(c != 0 ? 1 : 0);
  return mask;
}

Array ReadNpy(const std::string& path) { return ParseNpy(ReadFile(path), path); }

namespace {

// A .npy file of `descr` elements (data: their bytes, row-major), staged.
StagedFile StageNpyBytes(const std::string& path, const char* descr,
                         std::span<const std::int64_t> shape, std::string_view data) {
  std::string header = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': " + FormatShape(shape) + ", }";
  // NumPy pads the header with spaces and a newline so the data starts 64-byte aligned.
  const std::size_t unpadded = kPreludeSize + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string prelude(kMagic);
  prelude += '\x01';
  prelude += '\x00';
  prelude += static_cast<char>(header.size() & 0xff);
  prelude += static_cast<char>(header.size() >> 8);
  return StagedFile(path, {prelude, header, data});
}

}  // namespace

StagedFile StageNpy(const std::string& path, const Array& array,
                    std::span<const std::int64_t> shape) {
  const char* descr = array.dtype == smx::DType::kF16   ? "<f2"
                      : array.dtype == smx::DType::kF32 ? "<f4"
                                                        : "<f8";
  const std::string_view data(reinterpret_cast<const char*>(array.bytes.data()),
                              array.bytes.size());
  return StageNpyBytes(path, descr, shape, data);
}

StagedFile StageNpyIndices(const std::string& path, const IndexArray& array) {
  const std::string_view data(reinterpret_cast<const char*>(array.values.data()),
                              array.values.size() * sizeof(std::int64_t));
  return StageNpyBytes(path, "<i8", array.shape, data);
}

void WriteNpy(const std::string& path, const Array& array, std::span<const std::int64_t> shape) {
  StageNpy(path, array, shape).Commit();
}

}  // namespace smx_cli
