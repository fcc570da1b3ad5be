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

// The two halves of WriteFileAtomically, for a command that writes several files and must write
// all of them or none: stage every file (each one's bytes go to its temporary), then commit them
// (renames, which do not fail for want of space). A StagedFile destroyed uncommitted removes its
// temporary, so an error while staging the second file leaves nothing behind.
//
//   StagedFile loss(loss_path, {bytes}), grad(grad_path, {more_bytes});
//   loss.Commit();
//   grad.Commit();
class StagedFile {
 public:
  StagedFile(const std::string& path, std::initializer_list<std::string_view> parts);
  StagedFile(StagedFile&& other) noexcept;
  StagedFile& operator=(StagedFile&&) = delete;
  ~StagedFile();

  // Renames the temporary over the path; a RuntimeError names the path and the reason.
  void Commit();

 private:
  std::string path_;
  std::string temporary_;  // empty once committed or moved from
};

}  // namespace smx_cli

#endif  // SMX_TOOLS_FILE_IO_H_
