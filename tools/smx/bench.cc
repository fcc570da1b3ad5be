// smx bench: ns per element of each op against a plain copy of the same bytes, as a table or JSON.
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "args.h"
#include "bench_attention.h"
#include "bench_sampling.h"
#include "bench_core.h"
#include "commands.h"
#include "heap_tracker.h"
#include "numbers.h"
#include "smx/calculus.h"
#include "smx/losses.h"
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

// What the table measures: the softmax family (by the tool's Op), then two training ops: softmax's
// backward from the saved output (reads y and g, writes dz) and the fused cross-entropy forward +
// backward with class indices (reads the logits, writes the gradient; mean reduction).
struct BenchOp {
  std::string name;
  std::optional<Op> family;  // unset: a training op, by name
  // Floats each element moves, reads plus writes (the copy moves half as many, read and written).
  double traffic() const {
    if (family) return ReducesAxis(*family) ? 1.0 : 2.0;
    return name == "softmax-backward" ? 3.0 : 2.0;
  }
};

std::vector<BenchOp> AllBenchOps() {
  std::vector<BenchOp> ops;
  for (Op op : kAllOps) ops.push_back({OpName(op), op});
  ops.push_back({"softmax-backward", std::nullopt});
  ops.push_back({"cross-entropy", std::nullopt});
  return ops;
}

struct BenchArgs {
  std::vector<Shape> shapes = kDefaultShapes;
  bool shape_given = false;
  bool attention = false;  // --op attention: its own table (bench_attention.cc)
  bool sample = false;     // --op sample: its own table (bench_sampling.cc)
  std::vector<BenchOp> ops = AllBenchOps();
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
      parsed.shape_given = true;
    } else if (name == "--op") {
      const std::string op = reader.TakeValue();
      parsed.attention = op == "attention";
      parsed.sample = op == "sample";
      parsed.ops.clear();
      for (const BenchOp& b : AllBenchOps()) {
        if (b.name == op) parsed.ops = {b};
      }
      if (parsed.ops.empty() && !parsed.attention && !parsed.sample) {
        throw UsageError("invalid --op '" + op +
                         "': must be softmax, log-softmax, logsumexp, softmax-backward, "
                         "cross-entropy, attention or sample");
      }
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

void PrintRow(const BenchArgs& args, const Shape& shape, const BenchOp& op, int threads,
              const Measurement& m, std::size_t extra_bytes) {
  // Bytes the op moves per input element: the inputs read, the output written.
  const double gb_per_s = op.traffic() * sizeof(float) / m.smx_ns_per_element;
  const double ratio = m.smx_ns_per_element / m.copy_ns_per_element;
  if (args.json) {
    std::printf(
        "{\"op\":\"%s\",\"shape\":\"%s\",\"threads\":%d,\"dtype\":\"f32\",\"ns_per_element\":%s,"
        "\"copy_ns_per_element\":%s,\"ratio\":%s,\"gb_per_s\":%s,\"reps\":%d,"
        "\"extra_heap_bytes\":%zu,\"simd_target\":\"%s\"}\n",
        op.name.c_str(), shape.Name().c_str(), threads,
        FormatNumber(m.smx_ns_per_element, smx::DType::kF64, 5).c_str(),
        FormatNumber(m.copy_ns_per_element, smx::DType::kF64, 5).c_str(),
        FormatNumber(ratio, smx::DType::kF64, 4).c_str(),
        FormatNumber(gb_per_s, smx::DType::kF64, 4).c_str(), m.reps, extra_bytes,
        smx::simd_target());
  } else {
    std::printf("%-13s %-17s %7d %12s %13s %9s %9s %11zu\n", shape.Name().c_str(),
                op.name.c_str(), threads, Fixed(m.smx_ns_per_element, 3).c_str(),
                Fixed(m.copy_ns_per_element, 3).c_str(), Fixed(ratio, 2).c_str(),
                Fixed(gb_per_s, 1).c_str(), extra_bytes);
  }
  std::fflush(stdout);  // a long table shows its rows as they come
}

struct BenchResult {
  Measurement measurement;
  std::size_t extra_heap_bytes = 0;  // the peak heap the op takes during one call
};

void Check(const smx::Status& status) {
  if (!status.ok()) throw RuntimeError(status.message());
}

BenchResult MeasureBenchOp(const BenchOp& op, const Shape& shape, const AlignedFloats& input,
                           const AlignedFloats& output, int threads, int reps) {
  smx::set_num_threads(threads);
  const std::size_t elements = static_cast<std::size_t>(shape.rows * shape.cols);
  const std::int64_t dims[2] = {shape.rows, shape.cols};
  const smx::Layout layout = smx::Layout::Contiguous(dims);
  const smx::ConstTensorRef x(input.data(), smx::DType::kF32, layout);
  const smx::TensorRef y(output.data(), smx::DType::kF32, layout);
  std::function<void()> run;
  std::unique_ptr<AlignedFloats> saved;  // softmax-backward's saved y
  std::vector<std::int64_t> target;      // cross-entropy's class indices
  float loss = 0;
  if (op.family) {
    const std::int64_t reduced[2] = {shape.rows, 1};
    const smx::TensorRef out(output.data(), smx::DType::kF32,
                             ReducesAxis(*op.family) ? smx::Layout::Contiguous(reduced) : layout);
    Check(RunOp(*op.family, x, out, 1.0, -1));
    run = [&op, x, out] { (void)RunOp(*op.family, x, out, 1.0, -1); };
  } else if (op.name == "softmax-backward") {
    saved = std::make_unique<AlignedFloats>(elements);
    const smx::TensorRef yr(saved->data(), smx::DType::kF32, layout);
    Check(smx::softmax(x, yr));
    const smx::ConstTensorRef g = x, yc = yr;
    Check(smx::softmax_backward(g, yc, y));
    run = [g, yc, y] { (void)smx::softmax_backward(g, yc, y); };
  } else {
    std::uint64_t state = kSeed;
    target.resize(static_cast<std::size_t>(shape.rows));
    for (auto& t : target) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      t = static_cast<std::int64_t>((state >> 33) % static_cast<std::uint64_t>(shape.cols));
    }
    const smx::TensorRef l(&loss, smx::DType::kF32, smx::Layout::Contiguous({}));
    Check(smx::cross_entropy(x, target, l, y));
    run = [x, &target, l, y] { (void)smx::cross_entropy(x, target, l, y); };
  }
  BenchResult result;
  result.extra_heap_bytes = PeakHeapBytesDuring(run);
  // The copy moves half the op's traffic, read and written: its own buffers when that is more
  // than the op's input holds.
  const auto copy_elements = static_cast<std::size_t>(op.traffic() / 2 * double(elements));
  std::unique_ptr<AlignedFloats> copy_in, copy_out;
  if (copy_elements > elements) {
    copy_in = std::make_unique<AlignedFloats>(copy_elements);
    copy_out = std::make_unique<AlignedFloats>(copy_elements);
  }
  result.measurement = MeasureCallAgainstCopy(run, copy_in ? *copy_in : input,
                                              copy_out ? *copy_out : output, elements,
                                              copy_elements, threads, reps, kMinBatchSeconds);
  return result;
}

}  // namespace

int RunBench(Args raw_args) {
  const BenchArgs args = ParseBenchArgs(raw_args);
  if (args.help) {
    PrintBenchUsage(stdout);
    return kExitOk;
  }
  if (args.attention) {  // --shape LxD: the sequence length and the head dim
    std::vector<AttentionShape> shapes = kDefaultAttentionShapes;
    if (args.shape_given) shapes = {{args.shapes[0].rows, args.shapes[0].cols}};
    RunAttentionBench(shapes, args.threads, args.reps == kDefaultReps ? 3 : args.reps, args.json);
    return kExitOk;
  }
  if (args.sample) {  // --shape BxV: the batch and the vocabulary
    std::vector<SamplingShape> shapes = kDefaultSamplingShapes;
    if (args.shape_given) shapes = {{args.shapes[0].rows, args.shapes[0].cols}};
    RunSamplingBench(shapes, args.threads, args.reps == kDefaultReps ? 7 : args.reps, args.json);
    return kExitOk;
  }
  if (!args.json) {
    std::printf("smx %s bench: f32, last axis, SIMD target %s, %u hardware cores\n", smx::version(),
                smx::simd_target(), std::thread::hardware_concurrency());
    std::printf(
        "median of %d batches; copy = a plain copy of the bytes the op moves (half of them read, "
        "half written) on the same threads\n\n",
        args.reps);
    std::printf("%-13s %-17s %7s %12s %13s %9s %9s %11s\n", "shape", "op", "threads",
                "smx ns/elem", "copy ns/elem", "smx/copy", "smx GB/s", "extra heap");
  }
  for (const Shape& shape : args.shapes) {
    const std::size_t elements = static_cast<std::size_t>(shape.rows * shape.cols);
    AlignedFloats input(elements), output(elements);
    FillNormal(input.span(), kLogitStddev, kSeed);
    for (const BenchOp& op : args.ops) {
      for (int threads : args.threads) {
        const BenchResult r = MeasureBenchOp(op, shape, input, output, threads, args.reps);
        PrintRow(args, shape, op, threads, r.measurement, r.extra_heap_bytes);
      }
    }
  }
  return kExitOk;
}

}  // namespace smx_cli
