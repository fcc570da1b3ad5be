#include "text_io.h"

#include <cstring>
#include <vector>

#include "cli_error.h"
#include "numbers.h"

namespace smx_cli {
namespace {

std::string_view Trim(std::string_view text) {
  const char* kSpace = " \t\r\v\f";
  const std::size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

std::vector<std::string_view> SplitFields(std::string_view line, TextFormat format) {
  std::vector<std::string_view> fields;
  if (format == TextFormat::kCsv) {
    for (std::size_t start = 0;;) {
      const std::size_t comma = line.find(',', start);
      fields.push_back(Trim(line.substr(start, comma - start)));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    return fields;
  }
  const char* kSeparators = " \t\r\v\f,";
  for (std::size_t start = line.find_first_not_of(kSeparators); start != std::string_view::npos;) {
    const std::size_t end = line.find_first_of(kSeparators, start);
    fields.push_back(line.substr(start, end - start));
    start = line.find_first_not_of(kSeparators, end);
  }
  return fields;
}

// Parses into the dtype's own type, so an f32 value is rounded once from the decimal text.
template <typename T>
class RowBuilder {
 public:
  // Bad values on the command line are usage errors, bad values in files runtime errors.
  RowBuilder(smx::DType dtype, int exit_code) : dtype_(dtype), exit_code_(exit_code) {}

  // `where` locates the field in messages, e.g. "line 3 of 'x.csv'".
  void Append(std::string_view field, const std::string& where) {
    bool overflows = false;
    std::optional<T> value;
    if constexpr (std::is_same_v<T, float>) {
      value = ParseFloat(field, &overflows);
    } else {
      value = ParseDouble(field, &overflows);
    }
    if (value) {
      values_.push_back(*value);
      return;
    }
    std::string shown = "an empty field";
    if (!field.empty()) shown.assign(1, '\'').append(field).append(1, '\'');
    if (overflows) {
      throw CliError(exit_code_, shown + " at " + where + " is out of range for " +
                                     smx::dtype_name(dtype_) + " (write inf for infinity)");
    }
    throw CliError(exit_code_, shown + " at " + where + " is not a number");
  }

  Array Finish(std::vector<std::int64_t> shape) {
    Array array = Array::Zeros(dtype_, std::move(shape));
    std::memcpy(array.bytes.data(), values_.data(), values_.size() * sizeof(T));
    return array;
  }

 private:
  smx::DType dtype_;
  int exit_code_;
  std::vector<T> values_;
};

template <typename T>
Array ParseRowsAs(std::string_view text, TextFormat format, smx::DType dtype,
                  const std::string& source) {
  RowBuilder<T> builder(dtype, kExitRuntime);
  std::int64_t rows = 0;
  std::size_t row_length = 0;
  int first_row_line = 0;
  int line_number = 0;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (Trim(line).empty()) continue;
    const std::vector<std::string_view> fields = SplitFields(line, format);
    const std::string where = "line " + std::to_string(line_number) + " of " + source;
    if (rows == 0) {
      row_length = fields.size();
      first_row_line = line_number;
    } else if (fields.size() != row_length) {
      throw RuntimeError("rows of unequal length in " + source + ": line " +
                         std::to_string(line_number) + " has " + std::to_string(fields.size()) +
                         " values, line " + std::to_string(first_row_line) + " has " +
                         std::to_string(row_length));
    }
    for (std::string_view field : fields) builder.Append(field, where);
    ++rows;
  }
  if (rows == 0) throw RuntimeError("empty input: " + source + " holds no numbers");
  return builder.Finish({rows, static_cast<std::int64_t>(row_length)});
}

template <typename T>
Array ParseValuesAs(std::span<const std::string> values, smx::DType dtype) {
  RowBuilder<T> builder(dtype, kExitUsage);
  for (std::size_t i = 0; i < values.size(); ++i) {
    builder.Append(values[i], "value " + std::to_string(i + 1));
  }
  return builder.Finish({static_cast<std::int64_t>(values.size())});
}

}  // namespace

Array ParseRows(std::string_view text, TextFormat format, smx::DType dtype,
                const std::string& source) {
  if (dtype == smx::DType::kF32) return ParseRowsAs<float>(text, format, dtype, source);
  return ParseRowsAs<double>(text, format, dtype, source);
}

Array ParseValues(std::span<const std::string> values, smx::DType dtype) {
  if (dtype == smx::DType::kF32) return ParseValuesAs<float>(values, dtype);
  return ParseValuesAs<double>(values, dtype);
}

std::string FormatRows(const Array& array, std::string_view separator, int significant_digits) {
  const std::int64_t row_length = array.rank() == 0 ? 1 : array.shape.back();
  const std::int64_t count = array.num_elements();
  std::string text;
  for (std::int64_t i = 0; i < count; ++i) {
    text += FormatNumber(array.Get(i), array.dtype, significant_digits);
    text += (i + 1) % row_length == 0 ? std::string_view("\n") : separator;
  }
  return text;
}

}  // namespace smx_cli
