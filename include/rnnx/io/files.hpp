#pragma once
// Reading and writing the files behind rnnx documents (weights, states) so that nothing is
// lost: a read failure is a message naming the path and the reason (a directory, a missing
// file, a permission or I/O error), and a write goes through a temporary file in the same
// directory, flushed to disk and renamed over the target, so that a failing or interrupted
// write leaves the previous file as it was.
//
// Plain functions, not templates: every loader and writer of every model type shares them.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>

#include "rnnx/isa.hpp"

namespace RNNX_NAMESPACE::detail {

/// The pieces one after the other. Loaders build their messages with it: one call, where each
/// `a + b + c` of std::strings is expanded inline at -O3 and the checks' code would grow.
inline std::string concat(std::initializer_list<std::string_view> pieces) {
  std::string text;
  for (std::string_view piece : pieces) text += piece;
  return text;
}

/// Why the last POSIX call failed.
inline std::string reason(int error) { return std::strerror(error); }

/// Why a file is refused for its size: "'<path>' holds <n> bytes, more than <limit>".
inline std::string too_large(const std::string& name, std::size_t size, std::size_t limit) {
  return "'" + name + "' holds " + (size == std::size_t(-1) ? "more" : std::to_string(size)) +
         " bytes, more than the " + std::to_string(limit) + " this reader accepts";
}

/// The bytes of the file at `path` into `text`; "" on success, else why it could not be read:
/// "cannot open '<path>': <reason>", "reading '<path>' failed: <reason>", or too_large() for a
/// file of more than max_bytes (refused before it is read, so a huge file costs nothing; then
/// *refused_for_size is set, when given).
inline std::string read_file_text(const std::filesystem::path& path, std::string& text,
                                  std::size_t max_bytes = std::size_t(-1),
                                  bool* refused_for_size = nullptr) {
  const std::string name = path.string();
  const auto refuse = [&](std::size_t size) {
    if (refused_for_size != nullptr) *refused_for_size = true;
    return too_large(name, size, max_bytes);
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "cannot open '" + name + "': " + reason(errno);
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const int error = errno;
    ::close(fd);
    return "cannot open '" + name + "': " + reason(error);
  }
  if (S_ISDIR(info.st_mode)) {
    ::close(fd);
    return "cannot open '" + name + "': it is a directory";
  }
  text.clear();
  if (S_ISREG(info.st_mode)) {
    const auto size = static_cast<std::size_t>(info.st_size);
    if (size > max_bytes) {
      ::close(fd);
      return refuse(size);
    }
    text.reserve(size);
  }
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      return "reading '" + name + "' failed: " + reason(error);
    }
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > max_bytes) {  // a pipe or device: no size to look at first
      ::close(fd);
      return refuse(std::size_t(-1));
    }
  }
  ::close(fd);
  return "";
}

/// Writes all of `text` to fd; 0 or the errno of the failure.
inline int write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

/// Replaces the file at `path` with `text`: "" on success, else why not (the previous file,
/// if any, is then unchanged). A regular file (or a new one) is written as `<path>.tmp-<pid>-
/// <n>` in the same directory, flushed to disk and renamed over `path`; a path that exists but
/// is no regular file (a device, a pipe) cannot be replaced atomically and is written
/// directly. The new file gets the permissions a plain open would give it.
inline std::string replace_file(const std::filesystem::path& path, std::string_view text) {
  const std::string name = path.string();
  struct stat info {};
  const bool exists = ::stat(path.c_str(), &info) == 0;
  if (exists && S_ISDIR(info.st_mode)) return "cannot write '" + name + "': it is a directory";
  if (exists && !S_ISREG(info.st_mode)) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) return "cannot open '" + name + "': " + reason(errno);
    const int error = write_all(fd, text);
    if (::close(fd) != 0 && error == 0) return "writing '" + name + "' failed: " + reason(errno);
    if (error != 0) return "writing '" + name + "' failed: " + reason(error);
    return "";
  }
  static std::atomic<unsigned long> counter{0};
  const std::string temporary =
      name + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  const mode_t mode = exists ? (info.st_mode & 07777) : 0666;  // 0666: the umask applies
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return "cannot write '" + name + "': creating '" + temporary + "': " + reason(errno);
  int error = exists && ::fchmod(fd, mode) != 0 ? errno : 0;
  if (error == 0) error = write_all(fd, text);
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error == 0 && std::rename(temporary.c_str(), path.c_str()) != 0) error = errno;
  if (error != 0) {
    ::unlink(temporary.c_str());
    return "writing '" + name + "' failed: " + reason(error) + " (the previous file is unchanged)";
  }
  return "";
}

/// Writes `text` over the file at `path` (detail::replace_file: the previous file survives a
/// failure); `caller` ("rnnx::save_weights") starts the message of Error.
template <class Error>
void write_document(const std::filesystem::path& path, std::string_view text,
                    std::string_view caller) {
  if (const std::string error = replace_file(path, text); !error.empty())
    throw Error(concat({caller, ": ", error}));
}

}  // namespace RNNX_NAMESPACE::detail
