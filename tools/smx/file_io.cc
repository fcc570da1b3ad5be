#include "file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "cli_error.h"

namespace smx_cli {
namespace {

std::string Reason() { return std::strerror(errno); }

std::string ReadAll(int fd, const std::string& name) {
  std::string contents;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) return contents;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw RuntimeError("cannot read " + name + ": " + Reason());
    }
    contents.append(buffer, static_cast<std::size_t>(n));
  }
}

bool WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Creates "<dir>/.<name>.smx-tmp-<pid>-<n>" exclusively. Mode 0666 lets the umask decide the final
// permissions, as for any file the user creates.
int CreateTemporaryBeside(const std::string& path, std::string* temporary) {
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  for (int attempt = 0; attempt < 100; ++attempt) {
    *temporary =
        dir + "." + name + ".smx-tmp-" + std::to_string(::getpid()) + "-" + std::to_string(attempt);
    const int fd = ::open(temporary->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;
}

}  // namespace

std::string ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw RuntimeError("cannot open '" + path + "': " + Reason());
  struct stat info;
  if (::fstat(fd, &info) == 0 && S_ISDIR(info.st_mode)) {
    ::close(fd);
    throw RuntimeError("cannot read '" + path + "': it is a directory");
  }
  try {
    std::string contents = ReadAll(fd, "'" + path + "'");
    ::close(fd);
    return contents;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

std::string ReadStdin() { return ReadAll(STDIN_FILENO, "standard input"); }

StagedFile::StagedFile(const std::string& path, std::initializer_list<std::string_view> parts)
    : path_(path) {
  struct stat info;
  if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    throw RuntimeError("cannot write '" + path + "': it is a directory");
  }
  std::string temporary;
  const int fd = CreateTemporaryBeside(path, &temporary);
  if (fd < 0) throw RuntimeError("cannot write '" + path + "': " + Reason());
  bool ok = true;
  for (std::string_view part : parts) ok = ok && WriteAll(fd, part);
  int saved_errno = errno;
  if (::close(fd) != 0 && ok) {  // NFS and full disks may report the failure only here
    ok = false;
    saved_errno = errno;
  }
  if (!ok) {
    ::unlink(temporary.c_str());
    errno = saved_errno;
    throw RuntimeError("cannot write '" + path + "': " + Reason());
  }
  temporary_ = std::move(temporary);
}

StagedFile::StagedFile(StagedFile&& other) noexcept
    : path_(std::move(other.path_)), temporary_(std::move(other.temporary_)) {
  other.temporary_.clear();
}

StagedFile::~StagedFile() {
  if (!temporary_.empty()) ::unlink(temporary_.c_str());
}

void StagedFile::Commit() {
  if (temporary_.empty()) return;
  if (::rename(temporary_.c_str(), path_.c_str()) != 0) {
    const int saved_errno = errno;
    ::unlink(temporary_.c_str());
    temporary_.clear();
    errno = saved_errno;
    throw RuntimeError("cannot write '" + path_ + "': " + Reason());
  }
  temporary_.clear();
}

void WriteFileAtomically(const std::string& path, std::initializer_list<std::string_view> parts) {
  StagedFile(path, parts).Commit();
}

}  // namespace smx_cli
