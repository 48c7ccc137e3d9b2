#include "demo/process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/unique_fd.hpp"

namespace picket::demo {

namespace {

std::string errno_text() { return std::strerror(errno); }

int64_t ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0).count();
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exit {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("signal {}", WTERMSIG(status));
  return "unknown";
}

}  // namespace

core::Result<Child> Child::spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  if (argv.empty()) return core::make_error("nothing to run");
  core::UniqueFd log(open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
  if (!log.valid()) return core::make_error(fmt::format("{}: {}", log_path, errno_text()));
  std::vector<char*> args = sys::exec_args(argv);
  pid_t pid = fork();
  if (pid < 0) return core::make_error("fork: " + errno_text());
  if (pid == 0) sys::exec_child(args, log.get());
  setpgid(pid, pid);  // also here: no window where a Ctrl-C could reach the child first
  return Child(pid);
}

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0) stop(milliseconds(3000));
    pid_ = std::exchange(o.pid_, -1);
    status_ = std::move(o.status_);
  }
  return *this;
}

Child::~Child() {
  if (pid_ > 0) stop(milliseconds(3000));
}

bool Child::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = describe_status(status);
    pid_ = -1;
    return false;
  }
  return r == 0;
}

std::string Child::stop(milliseconds grace) {
  if (!running()) return status_;
  kill(pid_, SIGTERM);
  const auto t0 = std::chrono::steady_clock::now();
  while (ms_since(t0) < grace.count()) {
    if (!running()) return status_;
    std::this_thread::sleep_for(milliseconds(20));
  }
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  status_ = describe_status(status) + " (did not stop on SIGTERM)";
  pid_ = -1;
  return status_;
}

bool sleep_unless_stopped(milliseconds d, const StopFlag& stop) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (!stop.load()) {
    auto now = std::chrono::steady_clock::now();
    if (now >= end) return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(end - now, milliseconds(50)));
  }
  return false;
}

}  // namespace picket::demo
