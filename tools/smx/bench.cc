// smx bench: ns per element of each op against a plain copy of the same bytes, as a table or JSON.
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "args.h"
#include "bench_core.h"
#include "commands.h"
#include "numbers.h"
#include "smx/runtime.h"

namespace smx_cli {
namespace {

struct Shape {
  std::int64_t rows;
  std::int64_t cols;
  std::string Name() const { return std::to_string(rows) + "x" + std::to_string(cols); }
};

// The default table: a classifier head, LLM vocabularies (32000 and Llama 3's 128256), short rows,
// one huge row, and attention-like rows.
const std::vector<Shape> kDefaultShapes = {{4096, 1000}, {512, 32000},  {16, 128256},
                                           {32768, 128}, {1, 16777216}, {2048, 8192}};
constexpr int kDefaultReps = 15;
constexpr double kMinBatchSeconds = 0.02;  // well above the clock's resolution and jitter
constexpr std::uint64_t kSeed = 20240611;
constexpr double kLogitStddev = 3.0;

struct BenchArgs {
  std::vector<Shape> shapes = kDefaultShapes;
  std::vector<Op> ops = {std::begin(kAllOps), std::end(kAllOps)};
  std::vector<int> threads;
  int reps = kDefaultReps;
  bool json = false;
  bool help = false;
};

Shape ParseShape(const std::string& text) {
  const std::size_t x = text.find('x');
  const std::optional<long long> rows = ParseInteger(std::string_view(text).substr(0, x));
  const std::optional<long long> cols =
      x == std::string::npos ? std::nullopt : ParseInteger(std::string_view(text).substr(x + 1));
  constexpr long long kMaxElements = 1ll << 32;  // 16 GiB per buffer is beyond any sane run
  if (!rows || !cols || *rows < 1 || *cols < 1 || *rows > kMaxElements / *cols) {
    throw UsageError("invalid --shape '" + text +
                     "': expected ROWSxCOLS with positive sizes, such as 4096x1000");
  }
  return {*rows, *cols};
}

BenchArgs ParseBenchArgs(Args args) {
  BenchArgs parsed;
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  parsed.threads = cores >= 2 ? std::vector<int>{1, 2} : std::vector<int>{1};
  ArgReader reader(args);
  while (!reader.done()) {
    if (!reader.AtOption()) {
      throw UsageError("smx bench takes no values, got '" + reader.TakePositional() + "'");
    }
    const std::string name = reader.TakeOption();
    if (name == "--shape") {
      parsed.shapes = {ParseShape(reader.TakeValue())};
    } else if (name == "--op") {
      const std::string op = reader.TakeValue();
      const std::optional<Op> found = FindOp(op);
      if (!found) {
        throw UsageError("invalid --op '" + op + "': must be softmax, log-softmax or logsumexp");
      }
      parsed.ops = {*found};
    } else if (name == "--threads") {
      parsed.threads = {ParseIntValue(name, reader.TakeValue(), 1, 1024)};
    } else if (name == "--reps") {
      parsed.reps = ParseIntValue(name, reader.TakeValue(), 1, 1000000);
    } else if (name == "--json") {
      reader.TakeNoValue();
      parsed.json = true;
    } else if (name == "-h" || name == "--help") {
      reader.TakeNoValue();
      parsed.help = true;
    } else {
      throw UnknownOption(name);
    }
  }
  return parsed;
}

std::string Fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

void PrintRow(const BenchArgs& args, const Shape& shape, Op op, int threads, const Measurement& m) {
  // Bytes the op moves per input element: the input read, the output written.
  const double output_per_element = ReducesAxis(op) ? 1.0 / shape.cols : 1.0;
  const double gb_per_s = (1.0 + output_per_element) * sizeof(float) / m.smx_ns_per_element;
  const double ratio = m.smx_ns_per_element / m.copy_ns_per_element;
  if (args.json) {
    std::printf(
        "{\"op\":\"%s\",\"shape\":\"%s\",\"threads\":%d,\"dtype\":\"f32\",\"ns_per_element\":%s,"
        "\"copy_ns_per_element\":%s,\"ratio\":%s,\"gb_per_s\":%s,\"reps\":%d,"
        "\"simd_target\":\"%s\"}\n",
        OpName(op), shape.Name().c_str(), threads,
        FormatNumber(m.smx_ns_per_element, smx::DType::kF64, 5).c_str(),
        FormatNumber(m.copy_ns_per_element, smx::DType::kF64, 5).c_str(),
        FormatNumber(ratio, smx::DType::kF64, 4).c_str(),
        FormatNumber(gb_per_s, smx::DType::kF64, 4).c_str(), m.reps, smx::simd_target());
  } else {
    std::printf("%-13s %-12s %7d %12s %13s %9s %9s\n", shape.Name().c_str(), OpName(op), threads,
                Fixed(m.smx_ns_per_element, 3).c_str(), Fixed(m.copy_ns_per_element, 3).c_str(),
                Fixed(ratio, 2).c_str(), Fixed(gb_per_s, 1).c_str());
  }
  std::fflush(stdout);  // a long table shows its rows as they come
}

}  // namespace

int RunBench(Args raw_args) {
  const BenchArgs args = ParseBenchArgs(raw_args);
  if (args.help) {
    PrintBenchUsage(stdout);
    return kExitOk;
  }
  if (!args.json) {
    std::printf("smx %s bench: f32, last axis, SIMD target %s, %u hardware cores\n", smx::version(),
                smx::simd_target(), std::thread::hardware_concurrency());
    std::printf(
        "median of %d batches; copy = a plain copy of the same rows x cols floats on the "
        "same threads\n\n",
        args.reps);
    std::printf("%-13s %-12s %7s %12s %13s %9s %9s\n", "shape", "op", "threads", "smx ns/elem",
                "copy ns/elem", "smx/copy", "smx GB/s");
  }
  for (const Shape& shape : args.shapes) {
    const std::size_t elements = static_cast<std::size_t>(shape.rows * shape.cols);
    AlignedFloats input(elements), output(elements);
    FillNormal(input.span(), kLogitStddev, kSeed);
    for (Op op : args.ops) {
      for (int threads : args.threads) {
        const Measurement m = MeasureAgainstCopy(op, input, output, shape.rows, shape.cols, threads,
                                                 args.reps, kMinBatchSeconds);
        PrintRow(args, shape, op, threads, m);
      }
    }
  }
  return kExitOk;
}

}  // namespace smx_cli
