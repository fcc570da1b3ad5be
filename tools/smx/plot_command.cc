// smx plot KIND: reads and checks the command line, draws the plot, and writes it whole or not at
// all.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <utility>

#include "args.h"
#include "commands.h"
#include "file_io.h"
#include "numbers.h"
#include "op_args.h"
#include "plot.h"

namespace smx_cli {
namespace {

constexpr std::size_t kMaxClasses = 32;       // more bars or cells than this are unreadable
constexpr std::size_t kMaxTemperatures = 12;  // panels
constexpr const char* kKindList = "temperature, jacobian, sigmoid or entropy";

enum class TemperatureUse { kNone, kList, kOne };

struct Kind {
  std::string_view name;
  std::string (*plot)(const PlotArgs&);
  bool takes_logits = false;
  TemperatureUse temperatures = TemperatureUse::kNone;
  bool takes_range = false;
  bool log_range = false;               // --range is of T, drawn on a log axis
  double range_min = 0, range_max = 0;  // --range's default
  std::size_t max_classes = 0;
};

constexpr Kind kKinds[] = {
    {.name = "temperature",
     .plot = PlotTemperature,
     .takes_logits = true,
     .temperatures = TemperatureUse::kList,
     .max_classes = kMaxClasses},
    {.name = "jacobian",
     .plot = PlotJacobian,
     .takes_logits = true,
     .temperatures = TemperatureUse::kOne,
     .max_classes = kMaxClasses},
    {.name = "sigmoid", .plot = PlotSigmoid, .takes_range = true, .range_min = -6, .range_max = 6},
    {.name = "entropy",
     .plot = PlotEntropy,
     .takes_logits = true,
     .takes_range = true,
     .log_range = true,
     .range_min = 0.01,
     .range_max = 100,
     .max_classes = SIZE_MAX},
};

// The command line as written, before its values are checked against the kind.
struct RawArgs {
  std::vector<std::string> positionals;  // the kind, then the logits
  std::optional<std::string> temperatures, range;
  std::optional<int> width;
  bool term = false;
  bool help = false;
  std::string output;
};

bool IsNumberList(std::string_view token) {
  if (token.find(',') == std::string_view::npos) return false;
  for (std::size_t start = 0;;) {
    const std::size_t comma = token.find(',', start);
    if (!LooksLikeNumber(token.substr(start, comma - start))) return false;
    if (comma == std::string_view::npos) return true;
    start = comma + 1;
  }
}

// ArgReader takes "-6,6" in "--range -6,6" for an option (it is not one number), so a list of
// numbers after -T or --range is first joined to its option: "--range=-6,6".
std::vector<std::string> JoinNumberLists(Args args) {
  std::vector<std::string> tokens;
  bool options_ended = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    options_ended = options_ended || args[i] == "--";
    const bool list_option = args[i] == "-T" || args[i] == "--temperature" || args[i] == "--range";
    if (!options_ended && list_option && i + 1 < args.size() && IsNumberList(args[i + 1])) {
      tokens.push_back(std::string(args[i]) + "=" + std::string(args[i + 1]));
      ++i;
    } else {
      tokens.emplace_back(args[i]);
    }
  }
  return tokens;
}

RawArgs ReadArgs(Args args) {
  const std::vector<std::string> tokens = JoinNumberLists(args);
  const std::vector<std::string_view> views(tokens.begin(), tokens.end());
  ArgReader reader(views);
  RawArgs raw;
  while (!reader.done()) {
    if (!reader.AtOption()) {
      raw.positionals.push_back(reader.TakePositional());
      continue;
    }
    const std::string name = reader.TakeOption();
    if (name == "-T" || name == "--temperature") {
      raw.temperatures = reader.TakeValue();
    } else if (name == "--range") {
      raw.range = reader.TakeValue();
    } else if (name == "--width") {
      raw.width = ParseIntValue(name, reader.TakeValue(), 20, 1000);
    } else if (name == "--term") {
      reader.TakeNoValue();
      raw.term = true;
    } else if (name == "-o" || name == "--output") {
      raw.output = TakeFileName(reader, name);
    } else if (name == "-h" || name == "--help") {
      reader.TakeNoValue();
      raw.help = true;
    } else {
      throw UnknownOption(name);
    }
  }
  return raw;
}

const Kind& FindKind(const RawArgs& raw) {
  if (raw.positionals.empty()) {
    throw UsageError("smx plot needs a kind: " + std::string(kKindList) +
                     " (see 'smx plot --help')");
  }
  for (const Kind& kind : kKinds) {
    if (kind.name == raw.positionals[0]) return kind;
  }
  throw UsageError("unknown plot '" + raw.positionals[0] + "': choose " + kKindList);
}

double ParseLogit(const std::string& text) {
  bool overflows = false;
  const std::optional<double> value = ParseDouble(text, &overflows);
  if (overflows || (value && *value == INFINITY)) {
    throw UsageError("invalid logit '" + text +
                     "': +inf makes softmax NaN; give finite logits, or -inf for a masked class");
  }
  if (!value || std::isnan(*value)) {
    throw UsageError("invalid logit '" + text + "': must be a number (or -inf for a masked class)");
  }
  return *value;
}

std::vector<double> ParseLogits(const Kind& kind, const std::vector<std::string>& values) {
  const std::string name(kind.name);
  if (!kind.takes_logits) {
    if (values.empty()) return {};
    throw UsageError("plot " + name + " takes no values, got '" + values[0] +
                     "': it draws softmax([z1, z2])_1 over z1 - z2 (see --range)");
  }
  if (values.empty()) throw UsageError("no logits: give values, e.g. smx plot " + name + " 3 1 0");
  if (values.size() > kind.max_classes) {
    throw UsageError("plot " + name + " draws at most " + std::to_string(kind.max_classes) +
                     " classes, got " + std::to_string(values.size()));
  }
  std::vector<double> logits;
  for (const std::string& text : values) logits.push_back(ParseLogit(text));
  if (std::none_of(logits.begin(), logits.end(), [](double z) { return std::isfinite(z); })) {
    throw UsageError("no finite logit: softmax of all -inf is all 0; give at least one number");
  }
  return logits;
}

double ParseTemperature(const std::string& text) {
  bool overflows = false;
  const std::optional<double> value = ParseDouble(text, &overflows);
  if (overflows) return INFINITY;  // "1e999" is too hot to matter: the limit
  if (!value || std::isnan(*value)) {
    throw UsageError("invalid temperature '" + text + "': must be a number >= 0 (or inf)");
  }
  if (*value < 0) throw UsageError("invalid temperature '" + text + "': must be >= 0");
  return *value;
}

std::vector<double> ParseTemperatureList(const std::string& text) {
  if (text.empty()) {
    throw UsageError("-T needs a comma-separated list of temperatures, e.g. -T 0.5,1,2,5");
  }
  std::vector<double> list;
  for (std::size_t start = 0;;) {
    const std::size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma - start);
    if (item.empty()) {
      throw UsageError("-T '" + text +
                       "' has an empty item: give a comma-separated list, e.g. "
                       "-T 0.5,1,2,5");
    }
    list.push_back(ParseTemperature(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (list.size() > kMaxTemperatures) {
    throw UsageError("-T '" + text + "' lists " + std::to_string(list.size()) +
                     " temperatures: at most " + std::to_string(kMaxTemperatures));
  }
  return list;
}

// J's derivative needs a finite T > 0: the hardmax limit has none.
double ParseJacobianTemperature(const std::string& text) {
  if (text.find(',') != std::string::npos) {
    throw UsageError("plot jacobian takes one temperature, got -T '" + text + "'");
  }
  const double t = ParseTemperature(text);
  if (t == 0 || std::isinf(t)) {
    throw UsageError("invalid temperature '" + text +
                     "' for plot jacobian: J = (diag(p) - p p^T) / T needs a finite T > 0");
  }
  return t;
}

std::vector<double> ParseTemperatures(const Kind& kind, const std::optional<std::string>& text) {
  const std::string name(kind.name);
  switch (kind.temperatures) {
    case TemperatureUse::kList:
      return text ? ParseTemperatureList(*text) : std::vector{0.5, 1.0, 2.0, 5.0};
    case TemperatureUse::kOne: return {text ? ParseJacobianTemperature(*text) : 1.0};
    case TemperatureUse::kNone: break;
  }
  if (!text) return {};
  if (name == "entropy") {
    throw UsageError("plot entropy draws H at every temperature (-T '" + *text +
                     "'): give the range of T with --range A,B");
  }
  throw UsageError("plot " + name + " takes no temperature (-T '" + *text + "')");
}

// "A,B" as two finite numbers; nullopt for anything else.
std::optional<std::pair<double, double>> ParsePair(const std::string& text) {
  const std::size_t comma = text.find(',');
  if (comma == std::string::npos) return std::nullopt;
  const std::optional<double> a = ParseDouble(text.substr(0, comma));
  const std::optional<double> b = ParseDouble(text.substr(comma + 1));
  if (!a || !b || !std::isfinite(*a) || !std::isfinite(*b)) return std::nullopt;
  return std::pair(*a, *b);
}

// --range A,B: A < B, and A > 0 on a log axis.
void ParseRange(const Kind& kind, const std::optional<std::string>& text, PlotArgs& args) {
  if (!kind.takes_range) {
    if (text) {
      throw UsageError("plot " + std::string(kind.name) + " takes no --range ('" + *text + "')");
    }
    return;
  }
  const std::optional<std::pair<double, double>> range =
      text ? ParsePair(*text) : std::pair(kind.range_min, kind.range_max);
  if (!range || range->first >= range->second || (kind.log_range && range->first <= 0)) {
    throw UsageError("invalid --range '" + *text + "': must be A,B with " +
                     (kind.log_range ? "0 < A < B, the temperatures (e.g. 0.01,100)"
                                     : "A < B, finite (e.g. -6,6)"));
  }
  args.range_min = range->first;
  args.range_max = range->second;
}

void CheckOutput(const RawArgs& raw) {
  if (raw.width && !raw.term) {
    throw UsageError("--width sets the columns of --term's text: give --term too");
  }
  if (raw.term || raw.output.empty() || raw.output == "-") return;
  if (LowerExtension(raw.output) != ".svg") {
    throw UsageError("-o '" + raw.output +
                     "': smx plot writes SVG, name the file .svg (or give --term for text)");
  }
}

void Write(const std::string& output, const std::string& text) {
  if (!output.empty() && output != "-") {
    WriteFileAtomically(output, {text});
    return;
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    throw RuntimeError("cannot write to standard output");
  }
}

}  // namespace

int RunPlot(Args args) {
  const RawArgs raw = ReadArgs(args);
  if (raw.help) {
    PrintPlotUsage(stdout);
    return kExitOk;
  }
  const Kind& kind = FindKind(raw);
  PlotArgs plot;
  plot.logits = ParseLogits(kind, {raw.positionals.begin() + 1, raw.positionals.end()});
  plot.temperatures = ParseTemperatures(kind, raw.temperatures);
  ParseRange(kind, raw.range, plot);
  CheckOutput(raw);
  plot.term = raw.term;
  plot.width = raw.width.value_or(80);
  Write(raw.output, kind.plot(plot));  // drawn whole before anything is written
  return kExitOk;
}

}  // namespace smx_cli
