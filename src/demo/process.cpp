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

constexpr size_t kMaxOutput = 1 << 20;

std::string errno_text() { return std::strerror(errno); }

int64_t ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0).count();
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exit {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("signal {}", WTERMSIG(status));
  return "unknown";
}

// The argv array for execvp, built before fork(): the demo has threads, so the child may only make
// async-signal-safe calls (no allocation).
std::vector<char*> exec_args(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  return args;
}

// In the child after fork(): own process group (a terminal's Ctrl-C is for `picket demo` only),
// default signal dispositions, then exec.
[[noreturn]] void exec_child(std::vector<char*>& args, int out_fd) {
  setpgid(0, 0);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, 0);
  dup2(out_fd, 1);
  dup2(out_fd, 2);
  execvp(args[0], args.data());
  _exit(127);
}

}  // namespace

std::string join_argv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

CommandResult run_command(const std::vector<std::string>& argv, milliseconds limit) {
  CommandResult out;
  if (argv.empty()) return out;
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) return out;
  std::vector<char*> args = exec_args(argv);
  pid_t pid = fork();
  if (pid < 0) {
    close(pipefd[0]);
    close(pipefd[1]);
    return out;
  }
  if (pid == 0) exec_child(args, pipefd[1]);
  close(pipefd[1]);
  const auto t0 = std::chrono::steady_clock::now();
  bool timed_out = false;
  char buf[4096];
  for (;;) {
    int64_t left = limit.count() - ms_since(t0);
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{pipefd[0], POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      timed_out = r == 0;
      break;
    }
    ssize_t n = read(pipefd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.output.size() < kMaxOutput) out.output.append(buf, static_cast<size_t>(n));
  }
  close(pipefd[0]);
  if (timed_out) kill(pid, SIGKILL);  // only the child started here
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!timed_out && WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
  return out;
}

core::Result<Child> Child::spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  if (argv.empty()) return core::make_error("nothing to run");
  core::UniqueFd log(open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
  if (!log.valid()) return core::make_error(fmt::format("{}: {}", log_path, errno_text()));
  std::vector<char*> args = exec_args(argv);
  pid_t pid = fork();
  if (pid < 0) return core::make_error("fork: " + errno_text());
  if (pid == 0) exec_child(args, log.get());
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

core::Result<void> enter_netns(const std::string& name) {
  core::UniqueFd fd(open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return core::make_error(fmt::format("open netns {}: {}", name, errno_text()));
  if (setns(fd.get(), CLONE_NEWNET) < 0) return core::make_error(fmt::format("setns {}: {}", name, errno_text()));
  return {};
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
