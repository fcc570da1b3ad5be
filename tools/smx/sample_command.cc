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
#include "explain.h"
#include "explain_sampling.h"
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
  bool markdown = false;  // --markdown: --explain's steps as Markdown
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

// Row 0 step by step (ExplainSampling, checked against the library's filtered distribution),
// then its surviving tokens, most probable first (at most 20), and the token drawn. Returns
// whether the textbook and the library agree.
bool Explain(const SampleArgs& args, const Array& logits, const smx::SamplingOptions& options,
             const std::vector<std::int64_t>& tokens, const std::vector<double>& logprobs) {
  const ExplainStyle style = args.markdown ? ExplainStyle::kMarkdown : ExplainStyle::kTerminal;
  const std::int64_t rows = logits.rank() == 2 ? logits.shape[0] : 1;
  const std::int64_t v = logits.shape.back();
  if (rows > 1) {
    PrintExplainNote(stdout,
                     "The logits hold " + std::to_string(rows) + " rows of " + std::to_string(v) +
                         " tokens; this explains the first.",
                     style);
  }
  Array filtered = Array::Zeros(logits.dtype, logits.shape);
  smx::Status s = smx::top_k_top_p_filter(logits.ConstRef(), filtered.Ref(),
                                          smx::FilterOutput::kProbabilities, options);
  if (!s.ok()) throw RuntimeError(s.message());
  const std::vector<double> z = Row(logits, 0, v), q = Row(filtered, 0, v);
  const SamplingFilters filters = {args.temperature, args.top_k, args.top_p, args.min_p};
  const bool agree = RenderExplanation(ExplainSampling(z, filters), q, logits.dtype, stdout, style);

  std::vector<std::int64_t> kept;
  for (std::int64_t i = 0; i < v; ++i) {
    if (q[static_cast<std::size_t>(i)] > 0) kept.push_back(i);
  }
  // Sampling's order: the larger logit first, then the lower index.
  std::stable_sort(kept.begin(), kept.end(), [&](std::int64_t a, std::int64_t b) {
    return z[static_cast<std::size_t>(a)] > z[static_cast<std::size_t>(b)];
  });
  const bool markdown = style == ExplainStyle::kMarkdown;
  std::printf(markdown ? "\n```\n" : "\n");
  std::printf("%zu of %lld tokens survive.\n", kept.size(), static_cast<long long>(v));
  std::printf("  %8s %14s %12s %12s\n", "token", "z", "q", "cumulative");
  double running = 0;
  const std::size_t shown = std::min<std::size_t>(kept.size(), 20);
  for (std::size_t j = 0; j < shown; ++j) {
    const auto i = static_cast<std::size_t>(kept[j]);
    running += q[i];
    std::printf("  %8lld %14.7g %12.6g %12.6g%s\n", static_cast<long long>(kept[j]), z[i], q[i],
                running, kept[j] == tokens[0] ? "  <- drawn" : "");
  }
  if (shown < kept.size()) std::printf("  ... and %zu more\n", kept.size() - shown);
  std::printf("drawn: token %lld (Philox, seed %llu, step %llu)\n",
              static_cast<long long>(tokens[0]), static_cast<unsigned long long>(args.seed),
              static_cast<unsigned long long>(args.step));
  std::printf("  log q = %.9g (filtered), log p = %.9g (unfiltered)\n", logprobs[0], logprobs[1]);
  if (markdown) std::printf("```\n");
  return agree;
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
    if (!Explain(args, logits, options, tokens.values, pairs)) {
      throw RuntimeError("the textbook computation and smx disagree (see above)");
    }
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
