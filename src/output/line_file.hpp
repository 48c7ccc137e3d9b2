// LineFile: an append-only, buffered, reopenable file of text lines — the shared back end of the
// JSON-lines and text-log sinks.
//
// Contract:
// - "-" means standard output (never closed, reopen() only flushes it).
// - Other paths are opened O_WRONLY|O_APPEND|O_CREAT (mode 0640: events name hosts and users).
// - Lines are buffered and written when the buffer passes kFlushBytes, on flush(), on reopen(), on
//   destruction, or after every line if flush_each. A daemon that does not use flush_each should
//   call flush() on a timer so events do not sit in memory.
// - Writes never throw and never raise SIGPIPE: a failed write (disk full, closed pipe, file not
//   open) increments write_errors(), adds the lines it lost to dropped_lines(), keeps the message
//   in last_error(), and drops the buffer so memory stays bounded. The next line tries again.
// - reopen() flushes to the old file, then opens the path anew (log rotation after a rename).
//   If the new open fails the old descriptor is kept, so nothing is lost, and it counts an error.
// - Thread-safe: every public method takes an internal mutex (workers emit, SIGHUP reopens).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/unique_fd.hpp"

namespace picket::output {

class LineFile {
 public:
  static constexpr size_t kFlushBytes = 64 * 1024;

  // Opens at once; if that fails, is_open() is false, open_error() says why, and every line
  // written is counted as dropped.
  explicit LineFile(std::string path, bool flush_each = false);
  ~LineFile();
  LineFile(const LineFile&) = delete;
  LineFile& operator=(const LineFile&) = delete;

  // Appends `line` and a newline.
  void write_line(std::string_view line) noexcept;
  void flush() noexcept;
  void reopen() noexcept;
  // Records a line the caller could not even render (counted like a failed write).
  void count_error(std::string_view why) noexcept;

  const std::string& path() const noexcept { return path_; }
  bool is_open() const noexcept;
  // Ok, or "cannot open events file PATH: strerror" when the first open failed.
  core::Result<void> open_result() const;
  uint64_t write_errors() const noexcept;
  uint64_t dropped_lines() const noexcept;
  std::string last_error() const;

 private:
  bool open_locked() noexcept;
  void flush_locked() noexcept;
  void fail_locked(std::string message, uint64_t lost_lines) noexcept;
  int fd_locked() const noexcept { return to_stdout_ ? 1 : fd_.get(); }

  mutable std::mutex mu_;
  const std::string path_;
  const bool flush_each_;
  const bool to_stdout_;
  core::UniqueFd fd_;
  std::string buffer_;
  uint64_t buffered_lines_ = 0;
  uint64_t write_errors_ = 0;
  uint64_t dropped_lines_ = 0;
  std::string open_error_;
  std::string last_error_;
};

}  // namespace picket::output
