// Reading a subcommand's arguments: options, their values and positional values.
//
//   ArgReader reader(args);
//   while (!reader.done()) {
//     if (!reader.AtOption()) { values.push_back(reader.TakePositional()); continue; }
//     std::string name = reader.TakeOption();
//     if (name == "--axis") axis = ParseIntValue(name, reader.TakeValue());
//     else throw UnknownOption(name);
//   }
#ifndef SMX_TOOLS_ARGS_H_
#define SMX_TOOLS_ARGS_H_

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli_error.h"

namespace smx_cli {

// Options may be written "--name value" or "--name=value". A token that reads as a number ("-1.5",
// "-inf") is a value, never an option, and "--" ends the options: everything after it is a value.
class ArgReader {
 public:
  explicit ArgReader(std::span<const std::string_view> args) : args_(args) {}

  bool done();
  // True when the next token is an option; consumes a "--" that ends the options.
  bool AtOption();
  // Consumes the next token, an option, and returns its name (without any "=value").
  std::string TakeOption();
  // The value of the option just taken: its "=value" part, else the next token.
  std::string TakeValue();
  // For a flag: rejects "--flag=value".
  void TakeNoValue();
  // Consumes the next token, a positional value.
  std::string TakePositional();

 private:
  static bool LooksLikeOption(std::string_view token);
  void SkipEndOfOptions();

  std::span<const std::string_view> args_;
  std::size_t next_ = 0;
  bool options_ended_ = false;
  std::string option_;                       // the option taken last
  std::optional<std::string> inline_value_;  // its "=value", if written so
};

CliError UnknownOption(std::string_view name);

// Parses an option's integer value in [min_value, max_value]; a usage error names the option.
int ParseIntValue(std::string_view option, std::string_view text, int min_value, int max_value);

}  // namespace smx_cli

#endif  // SMX_TOOLS_ARGS_H_
