#include "args.h"

#include "numbers.h"

namespace smx_cli {

void ArgReader::SkipEndOfOptions() {
  if (!options_ended_ && next_ < args_.size() && args_[next_] == "--") {
    options_ended_ = true;
    ++next_;
  }
}

bool ArgReader::done() {
  SkipEndOfOptions();
  return next_ >= args_.size();
}

bool ArgReader::LooksLikeOption(std::string_view token) {
  return token.size() > 1 && token[0] == '-' && !LooksLikeNumber(token);
}

bool ArgReader::AtOption() {
  if (done() || options_ended_) return false;
  return LooksLikeOption(args_[next_]);
}

std::string ArgReader::TakeOption() {
  const std::string_view token = args_[next_++];
  const std::size_t equals = token.find('=');
  // "--axis=1" splits at the '=', and so does the rarer "-T=2".
  if (equals != std::string_view::npos) {
    option_ = std::string(token.substr(0, equals));
    inline_value_ = std::string(token.substr(equals + 1));
  } else {
    option_ = std::string(token);
    inline_value_.reset();
  }
  return option_;
}

std::string ArgReader::TakeValue() {
  if (inline_value_) {
    std::string value = std::move(*inline_value_);
    inline_value_.reset();
    return value;
  }
  // "-T --axis 1" forgot T's value; a file named like an option can still be given as -o=-x.csv.
  if (next_ >= args_.size() || LooksLikeOption(args_[next_])) {
    throw UsageError("option '" + option_ + "' needs a value");
  }
  return std::string(args_[next_++]);
}

void ArgReader::TakeNoValue() {
  if (inline_value_) throw UsageError("option '" + option_ + "' takes no value");
}

std::string ArgReader::TakePositional() { return std::string(args_[next_++]); }

CliError UnknownOption(std::string_view name) {
  return UsageError("unknown option '" + std::string(name) + "' (see 'smx help')");
}

int ParseIntValue(std::string_view option, std::string_view text, int min_value, int max_value) {
  const std::optional<long long> value = ParseInteger(text);
  if (!value || *value < min_value || *value > max_value) {
    throw UsageError("invalid value '" + std::string(text) + "' for " + std::string(option) +
                     ": must be an integer from " + std::to_string(min_value) + " to " +
                     std::to_string(max_value));
  }
  return static_cast<int>(*value);
}

}  // namespace smx_cli
