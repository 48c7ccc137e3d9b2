#include "output/line_file.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

namespace picket::output {
namespace {

// A write to a pipe whose reader has gone raises SIGPIPE, which kills the process by default.
// A library must not change the process-wide disposition, so the signal is blocked in this thread
// around the write, and one SIGPIPE it caused is consumed before unblocking; the write then
// simply fails with EPIPE and is counted.
class SigpipeGuard {
 public:
  SigpipeGuard() noexcept {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    const int saved = errno;
    if (saw_epipe_ && !was_pending_) {
      const timespec zero{};
      while (sigtimedwait(&pipe_, nullptr, &zero) == -1 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    errno = saved;
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

  void saw_epipe() noexcept { saw_epipe_ = true; }

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool was_pending_ = false;
  bool saw_epipe_ = false;
};

std::string describe(const std::string& path) {
  return path == "-" ? std::string("standard output") : fmt::format("events file {}", path);
}

}  // namespace

LineFile::LineFile(std::string path, bool flush_each)
    : path_(std::move(path)), flush_each_(flush_each), to_stdout_(path_ == "-") {
  std::lock_guard lock(mu_);
  if (!open_locked()) open_error_ = last_error_;
}

LineFile::~LineFile() { flush(); }

bool LineFile::open_locked() noexcept {
  if (to_stdout_) return true;
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    const int err = errno;
    ++write_errors_;
    last_error_ = fmt::format("cannot open {}: {}", describe(path_), std::strerror(err));
    return false;
  }
  fd_.reset(fd);
  return true;
}

void LineFile::write_line(std::string_view line) noexcept {
  std::lock_guard lock(mu_);
  if (fd_locked() < 0) {
    fail_locked(fmt::format("{} is not open", describe(path_)), 1);
    return;
  }
  buffer_.append(line);
  buffer_ += '\n';
  ++buffered_lines_;
  if (flush_each_ || buffer_.size() >= kFlushBytes) flush_locked();
}

void LineFile::flush() noexcept {
  std::lock_guard lock(mu_);
  flush_locked();
}

void LineFile::flush_locked() noexcept {
  if (buffer_.empty()) return;
  const int fd = fd_locked();
  size_t done = 0;
  int err = 0;
  {
    SigpipeGuard guard;
    while (done < buffer_.size()) {
      ssize_t n = ::write(fd, buffer_.data() + done, buffer_.size() - done);
      if (n > 0) {
        done += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        // EAGAIN on a non-blocking stdout is a failure too: spinning here would stall the caller.
        err = n < 0 ? errno : EIO;
        if (err == EPIPE) guard.saw_epipe();
        break;
      }
    }
  }
  if (err != 0) {
    const auto written = static_cast<uint64_t>(
        std::count(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(done), '\n'));
    fail_locked(fmt::format("write to {} failed: {}", describe(path_), std::strerror(err)),
                buffered_lines_ - written);
  }
  buffer_.clear();
  buffered_lines_ = 0;
}

void LineFile::reopen() noexcept {
  std::lock_guard lock(mu_);
  flush_locked();
  if (to_stdout_) return;
  core::UniqueFd old = std::move(fd_);
  if (!open_locked()) fd_ = std::move(old);  // keep writing to the renamed file rather than lose events
}

void LineFile::count_error(std::string_view why) noexcept {
  std::lock_guard lock(mu_);
  fail_locked(fmt::format("cannot write to {}: {}", describe(path_), why), 1);
}

void LineFile::fail_locked(std::string message, uint64_t lost_lines) noexcept {
  ++write_errors_;
  dropped_lines_ += lost_lines;
  last_error_ = std::move(message);
}

bool LineFile::is_open() const noexcept {
  std::lock_guard lock(mu_);
  return fd_locked() >= 0;
}

core::Result<void> LineFile::open_result() const {
  std::lock_guard lock(mu_);
  if (open_error_.empty()) return {};
  return core::make_error(open_error_);
}

uint64_t LineFile::write_errors() const noexcept {
  std::lock_guard lock(mu_);
  return write_errors_;
}

uint64_t LineFile::dropped_lines() const noexcept {
  std::lock_guard lock(mu_);
  return dropped_lines_;
}

std::string LineFile::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

}  // namespace picket::output
