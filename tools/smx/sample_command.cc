// smx sample: token ids drawn from .npy logits (smx::sample, sampling.h), and with --explain the
// surviving tokens of each row and their probabilities.
//
// Everything is computed before anything is written; the output files are staged and committed
// together, so an error leaves no file behind.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "args.h"
#include "array.h"
#include "cli_error.h"
#include "commands.h"
#include "file_io.h"
#include "npy.h"
#include "numbers.h"
#include "op_args.h"
#include "smx/sampling.h"
#include "smx/softmax.h"
#include "text_io.h"

namespace smx_cli {
namespace {

struct SampleArgs {
  std::string input;     // -i: the logits, .npy, (V,) or (B, V)
  std::string output;    // -o: the token ids, .npy (int64) or .csv; empty or "-": print
  std::string logprobs;  // --logprobs: their log-probabilities (filtered, raw), .npy or .csv
  double temperature = 1;
  std::int64_t top_k = 0;
  double top_p = 1;
  double min_p = 0;
  std::uint64_t seed = 0;
  std::uint64_t step = 0;
  bool gumbel = false;  // --gumbel: Gumbel-max (argmax of z / T plus noise), no filters
  bool explain = false;
  bool help = false;
};

double TakeNumber(ArgReader& reader, const std::string& name, double lo, double hi, bool lo_open,
                  const char* rule) {
  const std::string text = reader.TakeValue();
  const std::optional<double> v = ParseDouble(text);
  if (!v || std::isnan(*v) || *v > hi || *v < lo || (lo_open && *v == lo)) {
    throw UsageError("invalid " + name + " '" + text + "': " + rule);
  }
  return *v;
}

std::uint64_t TakeUnsigned(ArgReader& reader, const std::string& name, std::uint64_t max) {
  const std::string text = reader.TakeValue();
  const std::optional<long long> v = ParseInteger(text);
  if (!v || *v < 0 || static_cast<unsigned long long>(*v) > max) {
    throw UsageError("invalid " + name + " '" + text + "': must be an integer from 0 to " +
                     std::to_string(max));
  }
  return static_cast<std::uint64_t>(*v);
}

SampleArgs ParseSampleArgs(Args args) {
  SampleArgs parsed;
  ArgReader reader(args);
  while (!reader.done()) {
    if (!reader.AtOption()) {
      throw UsageError("sample takes no values, got '" + reader.TakePositional() +
                       "' (give -i LOGITS.npy)");
    }
    const std::string name = reader.TakeOption();
    if (name == "-i" || name == "--input") {
      parsed.input = TakeFileName(reader, name);
    } else if (name == "-o" || name == "--output") {
      parsed.output = TakeFileName(reader, name);
    } else if (name == "--logprobs") {
      parsed.logprobs = TakeFileName(reader, name);
    } else if (name == "-T" || name == "--temperature") {
      parsed.temperature =
          TakeNumber(reader, name, 0, INFINITY, false, "must be >= 0 (0 is greedy, inf uniform)");
    } else if (name == "--top-k") {
      parsed.top_k = static_cast<std::int64_t>(
          TakeUnsigned(reader, name, static_cast<std::uint64_t>(INT64_MAX)));
    } else if (name == "--top-p") {
      parsed.top_p = TakeNumber(reader, name, 0, 1, true, "must be in (0, 1]");
    } else if (name == "--min-p") {
      parsed.min_p = TakeNumber(reader, name, 0, 1, false, "must be in [0, 1]");
    } else if (name == "--seed") {
      parsed.seed = TakeUnsigned(reader, name, static_cast<std::uint64_t>(INT64_MAX));
    } else if (name == "--step") {
      parsed.step = TakeUnsigned(reader, name, 0xffffffffull);
    } else if (name == "--gumbel") {
      reader.TakeNoValue();
      parsed.gumbel = true;
    } else if (name == "--explain") {
      reader.TakeNoValue();
      parsed.explain = true;
    } else if (name == "-h" || name == "--help") {
      reader.TakeNoValue();
      parsed.help = true;
    } else {
      throw UnknownOption(name);
    }
  }
  if (parsed.help) return parsed;
  if (parsed.input.empty()) throw UsageError("no logits: give -i LOGITS.npy");
  if (parsed.gumbel && (parsed.top_k != 0 || parsed.top_p != 1 || parsed.min_p != 0 ||
                        parsed.explain || !parsed.logprobs.empty())) {
    throw UsageError(
        "--gumbel draws from softmax(z / T) itself: it takes no --top-k, --top-p, "
        "--min-p, --logprobs or --explain");
  }
  CheckNpyPath("sample", "-i", parsed.input);
  if (!parsed.output.empty() && parsed.output != "-") CheckOutputPath("-o", parsed.output);
  if (!parsed.logprobs.empty() && parsed.logprobs != "-") {
    CheckOutputPath("--logprobs", parsed.logprobs);
  }
  if (!parsed.logprobs.empty() && parsed.logprobs == parsed.output && parsed.output != "-") {
    throw UsageError("-o and --logprobs name the same file '" + parsed.output + "'");
  }
  return parsed;
}

// Row r of a (B, V) array as doubles.
std::vector<double> Row(const Array& a, std::int64_t r, std::int64_t v) {
  std::vector<double> row(static_cast<std::size_t>(v));
  for (std::int64_t i = 0; i < v; ++i) row[static_cast<std::size_t>(i)] = a.Get(r * v + i);
  return row;
}

// The surviving tokens of every row, most probable first (at most 20 listed per row), with their
// probability before and after the filters and the running total.
void Explain(const SampleArgs& args, const Array& logits, const smx::SamplingOptions& options,
             const std::vector<std::int64_t>& tokens, const std::vector<double>& logprobs) {
  const std::int64_t rows = logits.rank() == 2 ? logits.shape[0] : 1;
  const std::int64_t v = logits.shape.back();
  Array filtered = Array::Zeros(logits.dtype, logits.shape);
  Array raw = Array::Zeros(logits.dtype, logits.shape);
  smx::Status s = smx::top_k_top_p_filter(logits.ConstRef(), filtered.Ref(),
                                          smx::FilterOutput::kProbabilities, options);
  if (s.ok()) s = smx::softmax(logits.ConstRef(), raw.Ref(), {.temperature = args.temperature});
  if (!s.ok()) throw RuntimeError(s.message());
  std::printf("Sampling from %lld row%s of %lld logits z.\n", static_cast<long long>(rows),
              rows == 1 ? "" : "s", static_cast<long long>(v));
  std::printf("  1. p = softmax(z / T), T = %g%s\n", args.temperature,
              args.temperature == 0 ? " (greedy: the largest z, the lowest index among ties)" : "");
  if (args.top_k > 0) {
    std::printf("  2. top-k: keep the %lld largest z (ties: the lower index first)\n",
                static_cast<long long>(args.top_k));
  }
  if (args.top_p < 1) {
    std::printf("  3. top-p: of those, most probable first, the fewest whose mass reaches %g\n",
                args.top_p);
  }
  if (args.min_p > 0) std::printf("  4. min-p: keep p >= %g * p_max\n", args.min_p);
  std::printf(
      "  Then one draw from p renormalised over the survivors (Philox, seed %llu, step "
      "%llu, row id = row).\n",
      static_cast<unsigned long long>(args.seed), static_cast<unsigned long long>(args.step));
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::vector<double> z = Row(logits, r, v), p = Row(raw, r, v), q = Row(filtered, r, v);
    std::vector<std::int64_t> kept;
    for (std::int64_t i = 0; i < v; ++i) {
      if (q[static_cast<std::size_t>(i)] > 0) kept.push_back(i);
    }
    // Sampling's order: the larger logit first, then the lower index.
    std::sort(kept.begin(), kept.end(), [&](std::int64_t a, std::int64_t b) {
      const double za = z[static_cast<std::size_t>(a)], zb = z[static_cast<std::size_t>(b)];
      return za > zb || (za == zb && a < b);
    });
    std::printf("\nRow %lld: %zu of %lld tokens survive.\n", static_cast<long long>(r), kept.size(),
                static_cast<long long>(v));
    std::printf("  %8s %14s %12s %12s %12s\n", "token", "z", "p", "p filtered", "cumulative");
    double running = 0;
    const std::size_t shown = std::min<std::size_t>(kept.size(), 20);
    for (std::size_t j = 0; j < shown; ++j) {
      const std::size_t i = static_cast<std::size_t>(kept[j]);
      running += q[i];
      std::printf("  %8lld %14.7g %12.6g %12.6g %12.6g%s\n", static_cast<long long>(kept[j]), z[i],
                  p[i], q[i], running,
                  kept[j] == tokens[static_cast<std::size_t>(r)] ? "  <- drawn" : "");
    }
    if (shown < kept.size()) std::printf("  ... and %zu more\n", kept.size() - shown);
    std::printf("  drawn: token %lld, log p = %.9g (filtered), %.9g (unfiltered)\n",
                static_cast<long long>(tokens[static_cast<std::size_t>(r)]),
                logprobs[2 * static_cast<std::size_t>(r)],
                logprobs[2 * static_cast<std::size_t>(r) + 1]);
  }
}

}  // namespace

int RunSample(Args raw_args) {
  const SampleArgs args = ParseSampleArgs(raw_args);
  if (args.help) {
    PrintSampleUsage(stdout);
    return kExitOk;
  }
  const Array logits = ReadNpy(args.input);
  if (logits.rank() < 1 || logits.rank() > 2) {
    throw RuntimeError("the logits '" + args.input + "' have shape " + FormatShape(logits.shape) +
                       "; sample takes (V,) or (B, V)");
  }
  const std::int64_t rows = logits.rank() == 2 ? logits.shape[0] : 1;
  smx::SamplingOptions options;
  options.temperature = args.temperature;
  options.top_k = args.top_k;
  options.top_p = args.top_p;
  options.min_p = args.min_p;
  options.seed = args.seed;
  options.step = args.step;
  IndexArray tokens;
  tokens.shape = logits.rank() == 2 ? std::vector<std::int64_t>{rows} : std::vector<std::int64_t>{};
  tokens.values.resize(static_cast<std::size_t>(rows));
  std::vector<double> filtered(static_cast<std::size_t>(rows)), raw(filtered.size());
  smx::Status status;
  if (args.gumbel) {
    smx::GumbelOptions gumbel;
    gumbel.temperature = args.temperature;
    gumbel.seed = args.seed;
    gumbel.step = args.step;
    status = smx::gumbel_max(logits.ConstRef(), tokens.values, gumbel);
  } else {
    status = smx::sample(logits.ConstRef(), tokens.values, filtered, raw, options);
  }
  if (!status.ok()) throw RuntimeError(status.message());
  // (B, 2): each row's filtered and unfiltered log-probability, f64.
  Array logprobs = Array::Zeros(smx::DType::kF64, {rows, 2});
  std::vector<double> pairs(2 * static_cast<std::size_t>(rows));
  for (std::size_t r = 0; r < filtered.size(); ++r) {
    pairs[2 * r] = filtered[r];
    pairs[2 * r + 1] = raw[r];
  }
  std::memcpy(logprobs.bytes.data(), pairs.data(), pairs.size() * sizeof(double));

  std::optional<StagedFile> token_file, logprob_file;
  if (!args.output.empty() && args.output != "-") {
    if (LowerExtension(args.output) == ".csv") {
      std::string text;
      for (std::int64_t t : tokens.values) text += std::to_string(t) + "\n";
      token_file.emplace(args.output, std::initializer_list<std::string_view>{text});
    } else {
      token_file.emplace(StageNpyIndices(args.output, tokens));
    }
  }
  if (!args.logprobs.empty() && args.logprobs != "-") {
    logprob_file.emplace(LowerExtension(args.logprobs) == ".csv"
                             ? StagedFile(args.logprobs, {FormatRows(logprobs, ",", 0)})
                             : StageNpy(args.logprobs, logprobs, logprobs.shape));
  }
  if (token_file) token_file->Commit();
  if (logprob_file) logprob_file->Commit();
  if (args.explain) {
    Explain(args, logits, options, tokens.values, pairs);
  } else {
    if (args.output.empty() || args.output == "-") {
      for (std::int64_t t : tokens.values) std::printf("%lld\n", static_cast<long long>(t));
    }
    if (args.logprobs == "-") {
      const std::string text = FormatRows(logprobs, " ", 0);
      std::fwrite(text.data(), 1, text.size(), stdout);
    }
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    throw RuntimeError("cannot write to standard output");
  }
  return kExitOk;
}

}  // namespace smx_cli
