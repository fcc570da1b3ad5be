// smx attention: scaled dot-product attention of .npy queries, keys and values
// (smx::scaled_dot_product_attention, attention.h), with every option of the library.
//
// Everything is read, checked and computed before anything is written; the output files are then
// staged and committed together, so an error leaves no file behind.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "args.h"
#include "array.h"
#include "cli_error.h"
#include "commands.h"
#include "explain.h"
#include "explain_attention.h"
#include "file_io.h"
#include "npy.h"
#include "numbers.h"
#include "op_args.h"
#include "smx/attention.h"
#include "text_io.h"

namespace smx_cli {
namespace {

struct AttentionArgs {
  std::string q, k, v;        // -q, -k, -v: .npy
  std::string mask;           // --mask: bool (attends) or float (added) .npy; empty: none
  std::string sinks, slopes;  // --sinks, --alibi-slopes: [H] .npy
  std::string output;         // -o: the output, .npy or .csv; empty or "-": print
  std::string lse_output;     // --lse: the row logsumexp, .npy or .csv
  bool causal = false;
  smx::CausalAlignment alignment = smx::CausalAlignment::kTopLeft;
  std::optional<double> scale;
  double softcap = 0;
  bool gqa = false;
  int significant_digits = 0;
  bool explain = false;
  bool markdown = false;  // --markdown: --explain's steps as Markdown
  bool help = false;
};

std::string TakePath(ArgReader& reader, const std::string& option) {
  std::string path = TakeFileName(reader, option);
  CheckNpyPath("attention", option, path);
  return path;
}

std::string TakeOutput(ArgReader& reader, const std::string& option) {
  std::string path = TakeFileName(reader, option);
  if (path != "-") CheckOutputPath(option, path);
  return path;
}

double TakeNumber(ArgReader& reader, const std::string& option, const char* rule, bool positive) {
  const std::string text = reader.TakeValue();
  const std::optional<double> value = ParseDouble(text);
  if (!value || !std::isfinite(*value) || (positive && !(*value > 0))) {
    throw UsageError("invalid " + option + " '" + text + "': " + rule);
  }
  return *value;
}

AttentionArgs ParseAttentionArgs(Args args) {
  AttentionArgs parsed;
  ArgReader reader(args);
  while (!reader.done()) {
    if (!reader.AtOption()) {
      throw UsageError("attention takes no values, got '" + reader.TakePositional() +
                       "' (give -q Q.npy -k K.npy -v V.npy)");
    }
    const std::string name = reader.TakeOption();
    if (name == "-q" || name == "--query") {
      parsed.q = TakePath(reader, name);
    } else if (name == "-k" || name == "--key") {
      parsed.k = TakePath(reader, name);
    } else if (name == "-v" || name == "--value") {
      parsed.v = TakePath(reader, name);
    } else if (name == "--mask") {
      parsed.mask = TakePath(reader, name);
    } else if (name == "--sinks") {
      parsed.sinks = TakePath(reader, name);
    } else if (name == "--alibi-slopes") {
      parsed.slopes = TakePath(reader, name);
    } else if (name == "-o" || name == "--output") {
      parsed.output = TakeOutput(reader, name);
    } else if (name == "--lse") {
      parsed.lse_output = TakeOutput(reader, name);
    } else if (name == "--causal") {
      reader.TakeNoValue();
      parsed.causal = true;
    } else if (name == "--causal-alignment") {
      const std::string text = reader.TakeValue();
      if (!smx::parse_causal_alignment(text.c_str(), parsed.alignment)) {
        throw UsageError("invalid --causal-alignment '" + text +
                         "': must be top_left or lower_right");
      }
    } else if (name == "--scale") {
      parsed.scale = TakeNumber(reader, name, "must be a finite number", false);
    } else if (name == "--softcap") {
      parsed.softcap = TakeNumber(reader, name, "must be a finite number > 0", true);
    } else if (name == "--gqa") {
      reader.TakeNoValue();
      parsed.gqa = true;
    } else if (name == "--precision" || name == "-p") {
      parsed.significant_digits = ParseIntValue(name, reader.TakeValue(), 1, 40);
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
  if (parsed.q.empty() || parsed.k.empty() || parsed.v.empty()) {
    throw UsageError("attention needs -q Q.npy -k K.npy -v V.npy");
  }
  if (!parsed.output.empty() && parsed.output == parsed.lse_output && parsed.output != "-") {
    throw UsageError("-o and --lse name the same file '" + parsed.output + "'");
  }
  return parsed;
}

std::optional<StagedFile> Stage(const std::string& path, const Array& array, int digits) {
  if (path.empty() || path == "-") return std::nullopt;
  if (LowerExtension(path) == ".csv") return StagedFile(path, {FormatRows(array, ",", digits)});
  return StageNpy(path, array, array.shape);
}

// The first `count` values from flat index `at` of a C-order array.
std::vector<double> Values(const Array& a, std::int64_t at, std::int64_t count) {
  std::vector<double> values(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) values[static_cast<std::size_t>(i)] = a.Get(at + i);
  return values;
}

// Query 0 of head 0 (batch 0), as ExplainAttention takes it. Every index is 0 but the key's, so a
// broadcast mask's entry for key j is its flat entry j, or 0 where its last axis is broadcast.
AttentionRow FirstQueryRow(const Array& q, const Array& k, const Array& v,
                           const AttentionArgs& args, const BoolArray& bool_mask,
                           const Array& float_mask, const Array& sinks, const Array& slopes) {
  AttentionRow row;
  const std::int64_t d = q.shape.back(), lk = k.shape[k.rank() - 2], dv = v.shape.back();
  row.q = Values(q, 0, d);
  for (std::int64_t j = 0; j < lk; ++j) {
    row.keys.push_back(Values(k, j * d, d));
    row.values.push_back(Values(v, j * dv, dv));
  }
  row.num_queries = q.shape[q.rank() - 2];
  row.scale = args.scale.value_or(1 / std::sqrt(static_cast<double>(d)));
  row.softcap = args.softcap;
  if (!args.slopes.empty()) row.alibi_slope = slopes.Get(0);
  if (!args.sinks.empty()) row.sink = sinks.Get(0);
  row.causal = args.causal;
  row.alignment = args.alignment;
  for (std::int64_t j = 0; j < lk; ++j) {
    if (!bool_mask.values.empty()) {
      const std::int64_t at = bool_mask.shape.back() == 1 ? 0 : j;
      row.attends.push_back(bool_mask.values[static_cast<std::size_t>(at)] != 0);
    }
    if (!args.mask.empty() && bool_mask.values.empty()) {
      row.additive.push_back(float_mask.Get(float_mask.shape.back() == 1 ? 0 : j));
    }
  }
  return row;
}

}  // namespace

int RunAttention(Args raw_args) {
  const AttentionArgs args = ParseAttentionArgs(raw_args);
  if (args.help) {
    PrintAttentionUsage(stdout);
    return kExitOk;
  }
  const Array q = ReadNpy(args.q), k = ReadNpy(args.k), v = ReadNpy(args.v);
  if (q.rank() < 2 || q.rank() > 4) {
    throw RuntimeError("the queries '" + args.q + "' have shape " + FormatShape(q.shape) +
                       "; attention takes (L, d), (H, L, d) or (B, H, L, d)");
  }
  smx::AttentionOptions options;
  options.is_causal = args.causal;
  options.causal_alignment = args.alignment;
  options.scale = args.scale;
  options.softcap = args.softcap;
  options.enable_gqa = args.gqa;
  // The mask, sinks and slopes stay alive until the call.
  BoolArray bool_mask;
  Array float_mask, sinks, slopes;
  if (!args.mask.empty()) {
    const std::string file = ReadFile(args.mask);
    if (NpyHoldsBooleans(file, args.mask)) {
      bool_mask = ParseNpyBooleans(file, args.mask);
      options.attn_mask =
          smx::AttentionMask::Bool(reinterpret_cast<const bool*>(bool_mask.values.data()),
                                   smx::Layout::Contiguous(bool_mask.shape));
    } else {
      float_mask = ParseNpy(file, args.mask);
      options.attn_mask = smx::AttentionMask::Additive(float_mask.ConstRef());
    }
  }
  if (!args.sinks.empty()) {
    sinks = ReadNpy(args.sinks);
    options.sinks = sinks.ConstRef();
  }
  if (!args.slopes.empty()) {
    slopes = ReadNpy(args.slopes);
    options.alibi_slopes = slopes.ConstRef();
  }
  std::vector<std::int64_t> out_shape = q.shape;
  out_shape.back() = v.rank() > 0 ? v.shape.back() : 0;
  std::vector<std::int64_t> lse_shape(q.shape.begin(), q.shape.end() - 1);
  Array out = Array::Zeros(q.dtype, out_shape);
  Array lse =
      Array::Zeros(q.dtype == smx::DType::kF64 ? smx::DType::kF64 : smx::DType::kF32, lse_shape);
  const smx::Status status = smx::scaled_dot_product_attention(
      q.ConstRef(), k.ConstRef(), v.ConstRef(), out.Ref(), lse.Ref(), options);
  if (!status.ok()) throw RuntimeError(status.message());

  if (args.explain) {
    const ExplainStyle style = args.markdown ? ExplainStyle::kMarkdown : ExplainStyle::kTerminal;
    const std::int64_t rows = q.num_elements() / std::max<std::int64_t>(1, q.shape.back());
    if (rows > 1) {
      PrintExplainNote(stdout,
                       "The queries hold " + std::to_string(rows) +
                           " rows (over batches, heads and positions); this explains the first.",
                       style);
    }
    const AttentionRow row = FirstQueryRow(q, k, v, args, bool_mask, float_mask, sinks, slopes);
    if (!RenderExplanation(ExplainAttention(row), Values(out, 0, out.shape.back()), out.dtype,
                           stdout, style)) {
      throw RuntimeError("the textbook computation and smx disagree (see above)");
    }
  }
  // Both files are staged before either is committed: an error in the second leaves neither.
  std::optional<StagedFile> out_file = Stage(args.output, out, args.significant_digits);
  std::optional<StagedFile> lse_file = Stage(args.lse_output, lse, args.significant_digits);
  if (out_file) out_file->Commit();
  if (lse_file) lse_file->Commit();
  // --explain replaces the printed output, not a file asked for with -o.
  if ((args.output.empty() || args.output == "-") && !args.explain) {
    const std::string text = FormatRows(out, " ", args.significant_digits);
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  if (args.lse_output == "-" && !args.explain) {
    const std::string text = FormatRows(lse, " ", args.significant_digits);
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    throw RuntimeError("cannot write to standard output");
  }
  return kExitOk;
}

}  // namespace smx_cli
