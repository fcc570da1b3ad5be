#include "op_args.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "args.h"
#include "cli_error.h"
#include "numbers.h"

namespace smx_cli {
namespace {

double ParseTemperature(const std::string& text) {
  bool overflows = false;
  const std::optional<double> value = ParseDouble(text, &overflows);
  if (overflows) return INFINITY;  // "1e999" means a temperature too hot to matter: the limit
  if (!value || std::isnan(*value)) {
    throw UsageError("invalid temperature '" + text + "': must be a number >= 0 (or inf)");
  }
  if (*value < 0) throw UsageError("invalid temperature '" + text + "': must be >= 0");
  return *value;
}

smx::DType ParseTextDType(const std::string& text) {
  if (text == "f32" || text == "float32") return smx::DType::kF32;
  if (text == "f64" || text == "float64") return smx::DType::kF64;
  throw UsageError("invalid --dtype '" + text + "': must be f32 or f64");
}

void CheckOutputPath(const std::string& path) {
  if (path.empty() || path == "-") return;
  const std::string extension = LowerExtension(path);
  if (extension != ".npy" && extension != ".csv") {
    throw UsageError("cannot tell the output format of '" + path +
                     "': name it .npy or .csv (or leave out -o to print)");
  }
}

void CheckInputPath(const std::string& path) {
  if (path == "-") return;
  const std::string extension = LowerExtension(path);
  if (extension != ".npy" && extension != ".csv" && extension != ".txt") {
    throw UsageError("cannot tell the input format of '" + path +
                     "': name it .npy, .csv or .txt, or use '-' for text on stdin");
  }
}

}  // namespace

std::string LowerExtension(const std::string& path) {
  const std::size_t dot = path.rfind('.');
  const std::size_t slash = path.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string extension = path.substr(dot);
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
}

std::string TakeFileName(ArgReader& reader, const std::string& option) {
  std::string path = reader.TakeValue();
  if (path.empty()) throw UsageError("option '" + option + "' needs a file name");
  return path;
}

void CheckNpyPath(const char* command, const std::string& option, const std::string& path) {
  if (LowerExtension(path) != ".npy") {
    throw UsageError(option + " '" + path + "': " + command + " reads .npy files");
  }
}

void CheckOutputPath(const std::string& option, const std::string& path) {
  const std::string extension = LowerExtension(path);
  if (extension != ".npy" && extension != ".csv") {
    throw UsageError("cannot tell the output format of '" + path + "' (" + option +
                     "): name it .npy or .csv");
  }
}

bool TakeExplainOption(const std::string& name, ArgReader& reader, bool& explain, bool& markdown) {
  if (name != "--explain" && name != "--markdown") return false;
  reader.TakeNoValue();
  (name == "--explain" ? explain : markdown) = true;
  return true;
}

void CheckMarkdown(bool markdown, bool explain) {
  if (markdown && !explain) {
    throw UsageError("--markdown formats the steps of --explain: give --explain too");
  }
}

OpArgs ParseOpArgs(Op op, std::span<const std::string_view> args) {
  OpArgs parsed;
  parsed.op = op;
  ArgReader reader(args);
  while (!reader.done()) {
    if (!reader.AtOption()) {
      parsed.values.push_back(reader.TakePositional());
      continue;
    }
    const std::string name = reader.TakeOption();
    if (name == "-T" || name == "--temperature") {
      if (!TakesTemperature(op)) {
        throw UsageError(std::string(OpName(op)) + " takes no temperature (" + name + ")" +
                         (op == Op::kLogSumExp ? ": logsumexp(z) is log sum_j exp(z_j)" : ""));
      }
      parsed.temperature = ParseTemperature(reader.TakeValue());
    } else if (name == "--axis" || name == "-a") {
      if (!TakesAxis(op)) {
        throw UsageError(std::string(OpName(op)) + " works elementwise and takes no axis (" + name +
                         ")");
      }
      parsed.axis = ParseIntValue(name, reader.TakeValue(), -smx::kMaxRank, smx::kMaxRank - 1);
    } else if (name == "--dtype") {
      parsed.dtype = ParseTextDType(reader.TakeValue());
    } else if (name == "--precision" || name == "-p") {
      parsed.significant_digits = ParseIntValue(name, reader.TakeValue(), 1, 40);
    } else if (name == "-i" || name == "--input") {
      parsed.input = reader.TakeValue();
      if (parsed.input.empty()) throw UsageError("option '" + name + "' needs a file name");
    } else if (name == "-o" || name == "--output") {
      parsed.output = reader.TakeValue();
      if (parsed.output.empty()) throw UsageError("option '" + name + "' needs a file name");
    } else if (TakeExplainOption(name, reader, parsed.explain, parsed.markdown)) {
    } else if (name == "-h" || name == "--help") {
      reader.TakeNoValue();
      parsed.help = true;
    } else {
      throw UnknownOption(name);
    }
  }
  if (parsed.help) return parsed;
  CheckMarkdown(parsed.markdown, parsed.explain);
  if (!parsed.input.empty() && !parsed.values.empty()) {
    throw UsageError("give either values or -i FILE, not both");
  }
  if (parsed.input.empty() && parsed.values.empty()) {
    throw UsageError("no input: give values (smx " + std::string(OpName(op)) +
                     " 2 1 0.5) or -i FILE (.npy, .csv, or - for stdin)");
  }
  if (!parsed.input.empty()) CheckInputPath(parsed.input);
  CheckOutputPath(parsed.output);
  return parsed;
}

}  // namespace smx_cli
