// Whole-file reads, and writes that never leave a partial output file behind.
#ifndef SMX_TOOLS_FILE_IO_H_
#define SMX_TOOLS_FILE_IO_H_

#include <initializer_list>
#include <string>
#include <string_view>

namespace smx_cli {

// The whole file; a RuntimeError names the file and the reason ("No such file or directory").
std::string ReadFile(const std::string& path);
std::string ReadStdin();

// Writes the concatenation of `parts` to `path`. The bytes go to a temporary file in the same
// directory, which is renamed over `path` once complete, so readers see the old file or the whole
// new one, and a failure (disk full, no permission) leaves nothing behind.
void WriteFileAtomically(const std::string& path, std::initializer_list<std::string_view> parts);

}  // namespace smx_cli

#endif  // SMX_TOOLS_FILE_IO_H_
